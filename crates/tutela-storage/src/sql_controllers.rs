//! SQL of controllers and their agreements.

/// Implements [`crate::ControllerRepository`]; part of [`crate::impl_sql_repositories`].
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_controller_sql {
    ($store:ty, $db:ty, $storage_error:path) => {
        #[::async_trait::async_trait]
        impl $crate::ControllerRepository for $store {
            async fn create_controller(
                &self,
                c: &::tutela_domain::Controller,
            ) -> Result<(), $crate::StorageError> {
                ::sqlx::query(::sqlx::AssertSqlSafe(format!(
                    "INSERT INTO controllers ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                    $crate::CONTROLLER_COLUMNS
                )))
                .bind(c.id.0)
                .bind(c.name.as_str())
                .bind(c.country.as_str())
                .bind(c.dpo_contact.as_str())
                .bind(c.representative.as_ref().map(|r| r.as_str()))
                .bind($crate::micros(c.created_at))
                .execute(&self.pool)
                .await
                .map_err($storage_error)?;
                Ok(())
            }

            async fn controller(
                &self,
                id: ::tutela_domain::ControllerId,
            ) -> Result<Option<::tutela_domain::Controller>, $crate::StorageError> {
                let row: Option<$crate::ControllerTuple> =
                    ::sqlx::query_as(::sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM controllers WHERE id = $1",
                        $crate::CONTROLLER_COLUMNS
                    )))
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($storage_error)?;
                row.map($crate::controller_from_row).transpose()
            }

            async fn list_controllers(
                &self,
            ) -> Result<Vec<::tutela_domain::Controller>, $crate::StorageError> {
                let rows: Vec<$crate::ControllerTuple> =
                    ::sqlx::query_as(::sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM controllers ORDER BY name, id",
                        $crate::CONTROLLER_COLUMNS
                    )))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($storage_error)?;
                rows.into_iter().map($crate::controller_from_row).collect()
            }

            async fn record_agreement(
                &self,
                controller: ::tutela_domain::ControllerId,
                terms: &::tutela_domain::AgreementTerms,
                recorded_at: ::tutela_domain::Timestamp,
                recorded_by: ::tutela_domain::UserId,
            ) -> Result<::tutela_domain::Agreement, $crate::StorageError> {
                let json = $crate::terms_json(terms)?;
                let mut tx = self.begin_write().await?;
                let latest: Option<i64> = ::sqlx::query_scalar(
                    "SELECT MAX(version) FROM agreements WHERE controller_id = $1",
                )
                .bind(controller.0)
                .fetch_one(&mut *tx)
                .await
                .map_err($storage_error)?;
                let version = latest.unwrap_or(0) + 1;
                ::sqlx::query(::sqlx::AssertSqlSafe(format!(
                    "INSERT INTO agreements ({}) VALUES ($1, $2, $3, $4, $5)",
                    $crate::AGREEMENT_COLUMNS
                )))
                .bind(controller.0)
                .bind(version)
                .bind(&json)
                .bind($crate::micros(recorded_at))
                .bind(recorded_by.0)
                .execute(&mut *tx)
                .await
                .map_err($storage_error)?;
                tx.commit().await.map_err($storage_error)?;
                $crate::agreement_from_row((
                    controller.0,
                    version,
                    json,
                    $crate::micros(recorded_at),
                    recorded_by.0,
                ))
            }

            async fn current_agreement(
                &self,
                controller: ::tutela_domain::ControllerId,
            ) -> Result<Option<::tutela_domain::Agreement>, $crate::StorageError> {
                let row: Option<$crate::AgreementTuple> =
                    ::sqlx::query_as(::sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM agreements WHERE controller_id = $1 \
                         ORDER BY version DESC LIMIT 1",
                        $crate::AGREEMENT_COLUMNS
                    )))
                    .bind(controller.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($storage_error)?;
                row.map($crate::agreement_from_row).transpose()
            }
        }
    };
}
