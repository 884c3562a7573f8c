//! SQL of privacy notices: versions numbered per controller and language in
//! the publishing transaction.

/// Implements [`crate::NoticeRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_notice_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        #[::async_trait::async_trait]
        impl $crate::NoticeRepository for $store {
            async fn publish_notice(
                &self,
                controller: ::tutela_domain::ControllerId,
                language: ::tutela_domain::Language,
                content: &::tutela_domain::NoticeDraft,
                at: ::tutela_domain::Timestamp,
                by: &str,
            ) -> Result<u32, $crate::StorageError> {
                let content = $crate::json_text(content, "privacy_notices.content")?;
                let mut tx = self.begin_write().await?;
                let latest: i64 = ::sqlx::query_scalar(
                    "SELECT COALESCE(MAX(version), 0) FROM privacy_notices \
                     WHERE controller_id = $1 AND language = $2",
                )
                .bind(controller.0)
                .bind(language.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                let version = latest + 1;
                ::sqlx::query(
                    "INSERT INTO privacy_notices (controller_id, language, version, content, published_at, published_by) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(controller.0)
                .bind(language.as_str())
                .bind(version)
                .bind(content)
                .bind($crate::micros(at))
                .bind(by)
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)?;
                u32::try_from(version).map_err(|_| $crate::corrupt("privacy_notices.version"))
            }

            async fn privacy_notice(
                &self,
                controller: ::tutela_domain::ControllerId,
                language: ::tutela_domain::Language,
                version: Option<u32>,
            ) -> Result<Option<::tutela_domain::PublishedNotice>, $crate::StorageError> {
                let row: Option<(i64, String, i64, String)> = ::sqlx::query_as(
                    "SELECT version, content, published_at, published_by FROM privacy_notices \
                     WHERE controller_id = $1 AND language = $2 AND ($3 IS NULL OR version = $3) \
                     ORDER BY version DESC LIMIT 1",
                )
                .bind(controller.0)
                .bind(language.as_str())
                .bind(version.map(i64::from))
                .fetch_optional(&self.pool)
                .await
                .map_err($storage_error)?;
                let Some((version, content, at, by)) = row else {
                    return Ok(None);
                };
                Ok(Some(::tutela_domain::PublishedNotice {
                    controller_id: controller,
                    language,
                    version: u32::try_from(version).map_err(|_| $crate::corrupt("privacy_notices.version"))?,
                    content: $crate::json_value(&content, "privacy_notices.content")?,
                    published_at: $crate::timestamp(at, "privacy_notices.published_at")?,
                    published_by: by.parse().map_err(|_| $crate::corrupt("privacy_notices.published_by"))?,
                }))
            }
        }
    };
}
