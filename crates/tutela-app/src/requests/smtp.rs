//! One-time codes by e-mail over SMTP (`lettre`), for deployments that
//! configure a mail server; codes for phone numbers still go to the file
//! outbox, for an SMS relay. Errors name the step, never the address.

use std::fmt;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tutela_domain::{ContactPoint, Language, RequestId};

use super::delivery::{CodeSender, FileCodeOutbox};
use crate::AppError;

/// The message's subject and first line, per language.
fn wording(language: Language) -> (&'static str, &'static str) {
    match language {
        Language::It => (
            "Codice di verifica della sua richiesta",
            "Il codice per confermare la sua richiesta sui dati personali è",
        ),
        Language::Es => (
            "Código de verificación de su solicitud",
            "El código para confirmar su solicitud sobre sus datos personales es",
        ),
        Language::Et => (
            "Teie pöördumise kinnituskood",
            "Isikuandmeid puudutava pöördumise kinnituskood on",
        ),
        Language::Fr => (
            "Code de vérification de votre demande",
            "Le code pour confirmer votre demande concernant vos données personnelles est",
        ),
        Language::En => (
            "Verification code for your request",
            "The code to confirm your request about your personal data is",
        ),
    }
}

/// Codes to e-mail addresses through an SMTP server; to phone numbers
/// through the file outbox.
pub struct SmtpCodeSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    phones: FileCodeOutbox,
}

impl fmt::Debug for SmtpCodeSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCodeSender")
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpCodeSender {
    /// A sender through the server at `url` (`smtps://user:pass@host`,
    /// `smtp://host:25?tls=required`, or `smtp://127.0.0.1:2525` for a
    /// local relay), writing as `from`; phone codes go to `phones`.
    pub fn new(url: &str, from: &str, phones: FileCodeOutbox) -> Result<Self, AppError> {
        // The TLS stack is the process's (ring), as for every other client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| AppError::invalid("requests.smtp_url", "is not an SMTP URL"))?
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|_| AppError::invalid("requests.smtp_from", "is not an e-mail address"))?;
        Ok(Self {
            transport,
            from,
            phones,
        })
    }
}

#[async_trait]
impl CodeSender for SmtpCodeSender {
    async fn send_code(
        &self,
        to: &ContactPoint,
        code: &str,
        language: Language,
        request: RequestId,
    ) -> Result<(), AppError> {
        let ContactPoint::Email(address) = to else {
            return self.phones.send_code(to, code, language, request).await;
        };
        let (subject, line) = wording(language);
        let to = address
            .as_str()
            .parse::<Mailbox>()
            .map_err(|_| AppError::internal("a stored e-mail address is not a mailbox"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(format!("{line} {code}\n\n{request}\n"))
            .map_err(|_| AppError::internal("the code's e-mail could not be built"))?;
        self.transport.send(message).await.map_err(|e| {
            let kind = if e.is_permanent() {
                "refused by the server"
            } else if e.is_transient() {
                "deferred by the server"
            } else {
                "connection failed"
            };
            AppError::internal(format!("sending a code by e-mail: {kind}"))
        })?;
        Ok(())
    }

    async fn forget(&self, request: RequestId) -> Result<(), AppError> {
        // E-mails left at once; only phone codes wait in the outbox.
        self.phones.forget(request).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    use super::*;

    /// A loopback SMTP server that accepts one message and returns it.
    async fn fake_smtp() -> (u16, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
            let mut data = String::new();
            let mut in_data = false;
            while let Some(line) = lines.next_line().await.unwrap() {
                if in_data {
                    if line == "." {
                        in_data = false;
                        write.write_all(b"250 queued\r\n").await.unwrap();
                    } else {
                        data.push_str(&line);
                        data.push('\n');
                    }
                    continue;
                }
                let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                let answer: &[u8] = match verb.as_str() {
                    "EHLO" | "HELO" => b"250-fake\r\n250 8BITMIME\r\n",
                    "DATA" => {
                        in_data = true;
                        b"354 go ahead\r\n"
                    }
                    "QUIT" => {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                write.write_all(answer).await.unwrap();
            }
            data
        });
        (port, task)
    }

    #[tokio::test]
    async fn email_codes_go_by_smtp_and_phone_codes_to_the_outbox() {
        let (port, server) = fake_smtp().await;
        let dir = tempfile::tempdir().unwrap();
        let sender = SmtpCodeSender::new(
            &format!("smtp://127.0.0.1:{port}"),
            "privacy@cc.example",
            FileCodeOutbox::new(dir.path()),
        )
        .unwrap();
        let request = RequestId::generate();
        let email =
            ContactPoint::Email(tutela_domain::EmailAddress::parse("maria@example.it").unwrap());
        sender
            .send_code(&email, "424242", Language::It, request)
            .await
            .unwrap();
        let message = server.await.unwrap();
        assert!(message.contains("To: maria@example.it"), "{message}");
        assert!(
            message.contains("424242") && message.contains(&request.to_string()),
            "{message}"
        );
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "no file for an e-mail"
        );

        let phone =
            ContactPoint::Phone(tutela_domain::PhoneNumber::parse("+393471234567", None).unwrap());
        sender
            .send_code(&phone, "424242", Language::It, request)
            .await
            .unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        sender.forget(request).await.unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_an_error_without_the_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let dir = tempfile::tempdir().unwrap();
        let sender = SmtpCodeSender::new(
            &format!("smtp://127.0.0.1:{port}"),
            "privacy@cc.example",
            FileCodeOutbox::new(dir.path()),
        )
        .unwrap();
        let email =
            ContactPoint::Email(tutela_domain::EmailAddress::parse("maria@example.it").unwrap());
        let error = sender
            .send_code(&email, "1", Language::En, RequestId::generate())
            .await
            .unwrap_err();
        assert!(!error.detail().contains("maria"), "{}", error.detail());
        assert!(
            SmtpCodeSender::new("not a url", "a@b.c", FileCodeOutbox::new(dir.path())).is_err()
        );
    }
}
