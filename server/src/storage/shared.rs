//! The SQL both backends share, written once and instantiated per backend by
//! [`impl_store!`]. Placeholders are `$N`, which SQLite and PostgreSQL both accept.
//!
//! A backend module provides, before invoking the macro:
//! - `struct $store { pool: Pool<$db> }`;
//! - `async fn begin_write(&self) -> Result<Transaction<'static, $db>, sqlx::Error>`, a
//!   transaction that already holds the write lock SQLite needs (`BEGIN IMMEDIATE`);
//! - `async fn lock_project(tx, project_id)`, which serialises imports into one project.

/// Most bind parameters one statement may carry (SQLite's limit is 32766, PostgreSQL's 65535).
pub(crate) const MAX_BIND_PARAMS: usize = 30_000;

/// The id and number of a project's latest published guideline version (bind: project id).
pub(crate) const LATEST_PUBLISHED_VERSION: &str = "SELECT v.id, v.number FROM guideline_versions v \
     JOIN guidelines g ON g.id = v.guideline_id \
     WHERE g.project_id = $1 AND v.published_at IS NOT NULL \
     ORDER BY v.number DESC LIMIT 1";

/// Rows per multi-row INSERT for a table with `columns` columns.
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (MAX_BIND_PARAMS / columns).max(1)
}

/// The queue's order among pairs without a priority: a shuffle seeded by the project,
/// stable across runs and machines (splitmix64 of the pair's query and item ids).
pub(crate) fn shuffle_key(project_id: i64, query_id: i64, item_id: i64) -> i64 {
    use relabel_core::mix::{GOLDEN_GAMMA, splitmix64};
    let x = (project_id as u64).wrapping_mul(GOLDEN_GAMMA)
        ^ (query_id as u64).rotate_left(32)
        ^ (item_id as u64);
    (splitmix64(x) >> 1) as i64
}

/// A stored name read as the enum it stands for (`TaskKind`, `ScalePreset`, ...): read
/// once, where the row is, and an unknown name is a corrupt row rather than a default.
pub(crate) fn parse_stored<T: std::str::FromStr<Err = String>>(
    column: &str,
    value: String,
) -> Result<T, crate::storage::StoreError> {
    value
        .parse()
        .map_err(|e| crate::storage::StoreError::Corrupt(format!("{column}: {e}")))
}

/// Encodes a value as the JSON text stored in JSON-shaped columns.
pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serialising strings, vectors and string maps cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

macro_rules! impl_store {
    ($store:ident, $db:ty, $backend:expr) => {
        use std::collections::{BTreeMap, HashMap};

        use async_trait::async_trait;
        use relabel_core::types::{CotView, ItemView, PairView, ProjectSummary};
        use sqlx::{QueryBuilder, Row, Transaction};

        use $crate::bands::{BandCuts, assign_bands};
        use $crate::domain::{
            FrequencyBand, NewProject, PairRecord, Project, ProjectSettings, RuleExample, RuleRecord,
            TaskKind,
        };
        use $crate::auth::Role;
        use $crate::storage::rows::{
            CandidateShape, Claim, ExportCandidate, ExportJudgment, ExportPair, JudgmentInput,
            PairForJudging, QueueError, Submitted,
        };
        use $crate::storage::shared::{json_text, rows_per_statement, shuffle_key};
        use $crate::storage::{
            Backend, BandStats, ImportCounts, ImportSink, Member, Membership, ProjectStats, Store,
            StoreError, User, conflict_on_unique,
        };

        const USER_COLUMNS: &str = "id, name, password_hash, disabled, password_changed_at";
        /// Complete pairs among the rows of `pairs p` joined to their `projects pr`: all k
        /// judgments in, or a reviewer's decision (the dashboard's queue depth and
        /// `/metrics` count the same way).
        const COMPLETE_PAIRS: &str = "SUM(CASE WHEN p.judgment_count >= pr.overlap_k \
             OR EXISTS (SELECT 1 FROM adjudications a WHERE a.pair_id = p.id) THEN 1 ELSE 0 END)";
        const PROJECT_COLUMNS: &str =
            "id, slug, name, scale, scale_labels, overlap_k, task, gold_rate, lease_seconds, reveal_models, \
             retrain_every, scorer_strategy, gold_window, gold_min_accuracy, pause_flagged, review_alpha";

        /// Records who did what to which object, inside the change's own transaction.
        async fn audit(
            tx: &mut Transaction<'static, $db>,
            actor: Option<i64>,
            action: &str,
            object_kind: &str,
            object_id: i64,
            detail: &serde_json::Value,
            now: i64,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO audit_log (at, actor_id, action, object_kind, object_id, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(now)
            .bind(actor)
            .bind(action)
            .bind(object_kind)
            .bind(object_id)
            .bind(json_text(detail))
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Inserts a user (with its audit entry) inside `tx`; a taken name is a conflict.
        async fn insert_user(
            tx: &mut Transaction<'static, $db>,
            name: &str,
            password_hash: &str,
            actor: Option<i64>,
            now: i64,
        ) -> Result<i64, StoreError> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (name, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(name)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&mut **tx)
            .await
            .map_err(|e| conflict_on_unique(e, || format!("a user named {name:?} already exists")))?;
            audit(tx, actor, "user.create", "user", id, &serde_json::json!({ "name": name }), now).await?;
            Ok(id)
        }

        /// Grants a role inside `tx` (audited); false when the user held it already.
        async fn grant_in(
            tx: &mut Transaction<'static, $db>,
            user_id: i64,
            project_id: Option<i64>,
            role: Role,
            actor: Option<i64>,
            now: i64,
        ) -> Result<bool, StoreError> {
            let granted = sqlx::query(
                "INSERT INTO memberships (user_id, project_id, role, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(project_id)
            .bind(role.as_str())
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected()
                > 0;
            if granted {
                audit(tx, actor, "role.grant", "user", user_id, &serde_json::json!({ "role": role, "project_id": project_id }), now).await?;
            }
            Ok(granted)
        }

        /// A judgment's stored rule citations (JSON).
        fn cited_rules(text: &str) -> Result<Vec<$crate::storage::rows::RuleCitation>, StoreError> {
            serde_json::from_str(text)
                .map_err(|e| StoreError::Corrupt(format!("judgments.rules_cited: {e}")))
        }

        /// The project's guideline row inside `tx`, created at `now` if it has none; its id.
        async fn guideline_of(
            tx: &mut Transaction<'static, $db>,
            project: &Project,
            now: i64,
        ) -> Result<i64, StoreError> {
            sqlx::query(
                "INSERT INTO guidelines (project_id, created_at) VALUES ($1, $2) \
                 ON CONFLICT (project_id) DO NOTHING",
            )
            .bind(project.id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok(sqlx::query_scalar("SELECT id FROM guidelines WHERE project_id = $1")
                .bind(project.id)
                .fetch_one(&mut **tx)
                .await?)
        }

        /// Records a reviewer's final label for a pair inside `tx`; its id. Strictly after
        /// any earlier decision, so "the latest counts" holds even within one millisecond.
        async fn insert_decision(
            tx: &mut Transaction<'static, $db>,
            pair_id: i64,
            reviewer_id: i64,
            label: &str,
            note: &str,
            now: i64,
        ) -> Result<i64, StoreError> {
            let previous: Option<i64> =
                sqlx::query_scalar("SELECT MAX(created_at) FROM adjudications WHERE pair_id = $1")
                    .bind(pair_id)
                    .fetch_one(&mut **tx)
                    .await?;
            Ok(sqlx::query_scalar(
                "INSERT INTO adjudications (pair_id, reviewer_id, label, note, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(pair_id)
            .bind(reviewer_id)
            .bind(label)
            .bind(note)
            .bind(previous.map_or(now, |p| now.max(p + 1)))
            .fetch_one(&mut **tx)
            .await?)
        }

        /// Stores a version's rules and their examples inside `tx`, in order; an example
        /// label off the project's scale or a repeated rule id is a conflict.
        async fn insert_rules(
            tx: &mut Transaction<'static, $db>,
            project: &Project,
            version_id: i64,
            rules: &[RuleRecord],
        ) -> Result<(), StoreError> {
            for (position, rule) in rules.iter().enumerate() {
                if let Some(bad) = rule.examples.iter().find(|e| !project.has_label(&e.label)) {
                    return Err(StoreError::Conflict(format!(
                        "rule {}: example label {:?} is not on the project's scale ({})",
                        rule.key,
                        bad.label,
                        project.scale_labels.join(", ")
                    )));
                }
                let rule_id: i64 = sqlx::query_scalar(
                    "INSERT INTO rules \
                       (version_id, rule_key, position, title, body, capabilities, dimension) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(version_id)
                .bind(&rule.key)
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(&rule.title)
                .bind(&rule.body)
                .bind(json_text(&rule.capabilities))
                .bind(rule.dimension.as_deref())
                .fetch_one(&mut **tx)
                .await
                .map_err(|e| conflict_on_unique(e, || format!("rule id {} appears twice", rule.key)))?;
                for example in &rule.examples {
                    sqlx::query(
                        "INSERT INTO rule_examples \
                           (rule_id, inline_query, inline_item_title, label, why) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(rule_id)
                    .bind(&example.query)
                    .bind(&example.item_title)
                    .bind(&example.label)
                    .bind(&example.why)
                    .execute(&mut **tx)
                    .await?;
                }
            }
            Ok(())
        }

        /// A guideline version's rules with their examples, in order.
        async fn rules_of(
            pool: &sqlx::Pool<$db>,
            version_id: i64,
        ) -> Result<Vec<RuleRecord>, StoreError> {
            let rows: Vec<(i64, String, String, String, String, Option<String>)> = sqlx::query_as(
                "SELECT id, rule_key, title, body, capabilities, dimension FROM rules \
                 WHERE version_id = $1 ORDER BY position",
            )
            .bind(version_id)
            .fetch_all(pool)
            .await?;
            // Examples written inline, or taken from a pair of the project.
            let example_rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
                "SELECT e.rule_id, \
                        COALESCE(e.inline_query, q.text, ''), \
                        COALESCE(e.inline_item_title, i.title, ''), \
                        e.label, e.why \
                 FROM rule_examples e \
                 JOIN rules r ON r.id = e.rule_id \
                 LEFT JOIN pairs p ON p.id = e.pair_id \
                 LEFT JOIN queries q ON q.id = p.query_id \
                 LEFT JOIN items i ON i.id = p.item_id \
                 WHERE r.version_id = $1 ORDER BY e.id",
            )
            .bind(version_id)
            .fetch_all(pool)
            .await?;
            let mut examples: std::collections::HashMap<i64, Vec<RuleExample>> =
                std::collections::HashMap::new();
            for (rule_id, query, item_title, label, why) in example_rows {
                examples.entry(rule_id).or_default().push(RuleExample {
                    query,
                    item_title,
                    label,
                    why,
                });
            }
            rows
                .into_iter()
                .map(|(id, key, title, body, capabilities, dimension)| {
                    Ok(RuleRecord {
                        key,
                        title,
                        body,
                        capabilities: serde_json::from_str(&capabilities)
                            .map_err(|e| StoreError::Corrupt(format!("rules.capabilities: {e}")))?,
                        dimension,
                        examples: examples.remove(&id).unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        }

        fn project_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Project, StoreError> {
            let labels: String = row.try_get("scale_labels")?;
            Ok(Project {
                id: row.try_get("id")?,
                slug: row.try_get("slug")?,
                name: row.try_get("name")?,
                scale: $crate::storage::shared::parse_stored("projects.scale", row.try_get("scale")?)?,
                scale_labels: serde_json::from_str(&labels)
                    .map_err(|e| StoreError::Corrupt(format!("projects.scale_labels: {e}")))?,
                overlap_k: row.try_get("overlap_k")?,
                task: $crate::storage::shared::parse_stored("projects.task", row.try_get("task")?)?,
                gold_rate: row.try_get("gold_rate")?,
                lease_seconds: row.try_get("lease_seconds")?,
                reveal_models: row.try_get("reveal_models")?,
                retrain_every: row.try_get("retrain_every")?,
                scorer_strategy: $crate::storage::shared::parse_stored(
                    "projects.scorer_strategy",
                    row.try_get("scorer_strategy")?,
                )?,
                gold_window: row.try_get("gold_window")?,
                gold_min_accuracy: row.try_get("gold_min_accuracy")?,
                pause_flagged: row.try_get("pause_flagged")?,
                review_alpha: row.try_get("review_alpha")?,
            })
        }

        async fn count(
            pool: &sqlx::Pool<$db>,
            sql: &'static str,
            project_id: i64,
        ) -> Result<i64, StoreError> {
            Ok(sqlx::query_scalar(sql).bind(project_id).fetch_one(pool).await?)
        }

        async fn count_by_band(
            pool: &sqlx::Pool<$db>,
            sql: &'static str,
            project_id: i64,
        ) -> Result<Vec<(String, i64)>, StoreError> {
            Ok(sqlx::query_as(sql).bind(project_id).fetch_all(pool).await?)
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn create_project(&self, new: &NewProject, now: i64) -> Result<Project, StoreError> {
                let labels: Vec<String> =
                    new.scale.labels().iter().map(|l| (*l).to_owned()).collect();
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(&format!(
                    "INSERT INTO projects (slug, name, scale, scale_labels, overlap_k, task, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING {PROJECT_COLUMNS}",
                ))
                .bind(&new.slug)
                .bind(&new.name)
                .bind(new.scale.name())
                .bind(json_text(&labels))
                .bind(i64::from(new.overlap_k))
                .bind(new.task.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    conflict_on_unique(e, || format!("a project with slug {:?} already exists", new.slug))
                })?;
                let project = project_from_row(&row)?;
                audit(&mut tx, None, "project.create", "project", project.id, &serde_json::json!({ "slug": project.slug }), now).await?;
                tx.commit().await?;
                Ok(project)
            }

            async fn project(&self, slug: &str) -> Result<Option<Project>, StoreError> {
                let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE slug = $1");
                let row = sqlx::query(&sql).bind(slug).fetch_optional(&self.pool).await?;
                row.as_ref().map(project_from_row).transpose()
            }

            async fn list_projects(&self) -> Result<Vec<$crate::storage::rows::ListedProject>, StoreError> {
                let rows: Vec<(i64, String, String, String, i64, i64, i64)> = sqlx::query_as(
                    "SELECT p.id, p.slug, p.name, p.scale, p.overlap_k, \
                       (SELECT COUNT(*) FROM pairs pr WHERE pr.project_id = p.id), \
                       (SELECT COUNT(*) FROM judgments j JOIN pairs pr ON pr.id = j.pair_id \
                         WHERE pr.project_id = p.id) \
                     FROM projects p ORDER BY p.slug",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, slug, name, scale, overlap_k, pairs, judgments)| {
                        Ok($crate::storage::rows::ListedProject {
                            id,
                            summary: ProjectSummary {
                                slug,
                                name,
                                scale: $crate::storage::shared::parse_stored("projects.scale", scale)?,
                                overlap_k,
                                pairs,
                                judgments,
                                my_roles: Vec::new(),
                            },
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?)
            }

            async fn stats(&self, project: &Project) -> Result<ProjectStats, StoreError> {
                let pool = &self.pool;
                let id = project.id;
                let mut bands: BTreeMap<String, BandStats> = FrequencyBand::ALL
                    .iter()
                    .map(|b| (b.as_str().to_owned(), BandStats::default()))
                    .collect();
                let grouped = [
                    "SELECT band, COUNT(*) FROM queries WHERE project_id = $1 GROUP BY band",
                    "SELECT q.band, COUNT(*) FROM pairs p JOIN queries q ON q.id = p.query_id \
                     WHERE p.project_id = $1 GROUP BY q.band",
                    "SELECT q.band, COUNT(*) FROM cot_candidates c JOIN pairs p ON p.id = c.pair_id \
                     JOIN queries q ON q.id = p.query_id WHERE p.project_id = $1 GROUP BY q.band",
                    "SELECT q.band, COUNT(*) FROM judgments j JOIN pairs p ON p.id = j.pair_id \
                     JOIN queries q ON q.id = p.query_id WHERE p.project_id = $1 GROUP BY q.band",
                ];
                for (which, sql) in grouped.into_iter().enumerate() {
                    for (band, n) in count_by_band(pool, sql, id).await? {
                        let entry = bands.entry(band).or_default();
                        match which {
                            0 => entry.queries = n,
                            1 => entry.pairs = n,
                            2 => entry.cot_candidates = n,
                            _ => entry.judgments = n,
                        }
                    }
                }
                let total = |f: fn(&BandStats) -> i64| bands.values().map(f).sum::<i64>();
                Ok(ProjectStats {
                    project: project.slug.clone(),
                    queries: total(|b| b.queries),
                    items: count(pool, "SELECT COUNT(*) FROM items WHERE project_id = $1", id).await?,
                    pairs: total(|b| b.pairs),
                    cot_candidates: total(|b| b.cot_candidates),
                    judgments: total(|b| b.judgments),
                    gold_pairs: count(
                        pool,
                        "SELECT COUNT(*) FROM gold_answers g JOIN pairs p ON p.id = g.pair_id \
                         WHERE p.project_id = $1",
                        id,
                    )
                    .await?,
                    unversioned_judgments: count(
                        pool,
                        "SELECT COUNT(*) FROM judgments j JOIN pairs p ON p.id = j.pair_id \
                         WHERE p.project_id = $1 AND j.guideline_version_id IS NULL",
                        id,
                    )
                    .await?,
                    bands,
                })
            }

            async fn begin_import(
                &self,
                project: &Project,
                source: &str,
                now: i64,
            ) -> Result<Box<dyn ImportSink>, StoreError> {
                let mut tx = self.begin_write().await?;
                Self::lock_project(&mut tx, project.id).await?;
                let queries: Vec<(i64, String, Option<i64>)> =
                    sqlx::query_as("SELECT id, text, frequency FROM queries WHERE project_id = $1")
                        .bind(project.id)
                        .fetch_all(&mut *tx)
                        .await?;
                let items: Vec<(i64, String)> =
                    sqlx::query_as("SELECT id, external_id FROM items WHERE project_id = $1")
                        .bind(project.id)
                        .fetch_all(&mut *tx)
                        .await?;
                Ok(Box::new(ImportTx {
                    tx,
                    project_id: project.id,
                    source: source.to_owned(),
                    now,
                    queries: queries.into_iter().map(|(id, text, f)| (text, (id, f))).collect(),
                    items: items.into_iter().map(|(id, ext)| (ext, id)).collect(),
                    counts: ImportCounts::default(),
                }))
            }

            async fn publish_guideline(
                &self,
                project: &Project,
                rules: &[RuleRecord],
                change_note: &str,
                now: i64,
            ) -> Result<i64, StoreError> {
                let mut tx = self.begin_write().await?;
                let guideline_id = guideline_of(&mut tx, project, now).await?;
                let number: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(MAX(number), 0) + 1 FROM guideline_versions WHERE guideline_id = $1",
                )
                .bind(guideline_id)
                .fetch_one(&mut *tx)
                .await?;
                let version_id: i64 = sqlx::query_scalar(
                    "INSERT INTO guideline_versions \
                       (guideline_id, number, change_note, created_at, published_at) \
                     VALUES ($1, $2, $3, $4, $4) RETURNING id",
                )
                .bind(guideline_id)
                .bind(number)
                .bind(change_note)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                insert_rules(&mut tx, project, version_id, rules).await?;
                audit(&mut tx, None, "guideline.publish", "guideline_version", version_id, &serde_json::json!({ "number": number, "rules": rules.len() }), now).await?;
                tx.commit().await?;
                Ok(number)
            }

            async fn latest_guideline_number(
                &self,
                project: &Project,
            ) -> Result<Option<i64>, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT MAX(v.number) FROM guideline_versions v \
                     JOIN guidelines g ON g.id = v.guideline_id \
                     WHERE g.project_id = $1 AND v.published_at IS NOT NULL",
                )
                .bind(project.id)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn create_user(&self, name: &str, password_hash: &str, now: i64) -> Result<i64, StoreError> {
                let mut tx = self.begin_write().await?;
                let id = insert_user(&mut tx, name, password_hash, None, now).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn create_member(
                &self,
                name: &str,
                password_hash: &str,
                project_id: Option<i64>,
                role: Role,
                actor: Option<i64>,
                now: i64,
            ) -> Result<i64, StoreError> {
                let mut tx = self.begin_write().await?;
                let id = insert_user(&mut tx, name, password_hash, actor, now).await?;
                grant_in(&mut tx, id, project_id, role, actor, now).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
                Ok(sqlx::query_as(&sql).bind(name).fetch_optional(&self.pool).await?)
            }

            async fn grant_role(
                &self,
                user_id: i64,
                project_id: Option<i64>,
                role: Role,
                actor: Option<i64>,
                now: i64,
            ) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let granted = grant_in(&mut tx, user_id, project_id, role, actor, now).await?;
                tx.commit().await?;
                Ok(granted)
            }

            async fn revoke_role(
                &self,
                user_id: i64,
                project_id: Option<i64>,
                role: Role,
                actor: Option<i64>,
                now: i64,
            ) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let revoked = sqlx::query(
                    "DELETE FROM memberships WHERE user_id = $1 AND role = $2 \
                     AND COALESCE(project_id, 0) = COALESCE($3, 0)",
                )
                .bind(user_id)
                .bind(role.as_str())
                .bind(project_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                if revoked {
                    audit(&mut tx, actor, "role.revoke", "user", user_id, &serde_json::json!({ "role": role, "project_id": project_id }), now).await?;
                }
                tx.commit().await?;
                Ok(revoked)
            }

            async fn project_members(&self, project: &Project) -> Result<Vec<Member>, StoreError> {
                let rows: Vec<(i64, String, bool, Option<i64>, String)> = sqlx::query_as(
                    "SELECT u.id, u.name, u.disabled, m.project_id, m.role \
                     FROM memberships m JOIN users u ON u.id = m.user_id \
                     WHERE m.project_id = $1 OR (m.project_id IS NULL AND m.role = 'admin') \
                     ORDER BY u.name, m.id",
                )
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                let mut members: Vec<Member> = Vec::new();
                for (user_id, name, disabled, project_id, role) in rows {
                    let role = Role::from_stored(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("memberships.role {role:?}")))?;
                    if members.last().is_none_or(|m| m.user_id != user_id) {
                        members.push(Member {
                            user_id,
                            name,
                            disabled,
                            roles: Vec::new(),
                            site_admin: false,
                        });
                    }
                    if let Some(member) = members.last_mut() {
                        if project_id.is_none() {
                            member.site_admin = true;
                        } else {
                            member.roles.push(role);
                        }
                    }
                }
                Ok(members)
            }

            async fn memberships(&self, user_id: i64) -> Result<Vec<Membership>, StoreError> {
                let rows: Vec<(Option<i64>, String)> = sqlx::query_as(
                    "SELECT project_id, role FROM memberships WHERE user_id = $1 ORDER BY id",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(project_id, role)| {
                        Role::from_stored(&role)
                            .map(|role| Membership { project_id, role })
                            .ok_or_else(|| StoreError::Corrupt(format!("memberships.role {role:?}")))
                    })
                    .collect()
            }

            async fn next_pair(
                &self,
                project: &Project,
                user_id: i64,
                prefer_gold: bool,
                lease_ms: i64,
                now: i64,
            ) -> Result<Option<Claim>, QueueError> {
                let mut tx = self.begin_write().await?;
                // The guideline version the pair is shown under: the latest published one.
                let version: Option<(i64, i64)> = sqlx::query_as(
                    $crate::storage::shared::LATEST_PUBLISHED_VERSION,
                )
                .bind(project.id)
                .fetch_optional(&mut *tx)
                .await?;
                let (version_id, version_number) = version.unzip();
                let claim = |pair_id, lease_id, expires_at| Claim {
                    pair_id,
                    lease_id,
                    expires_at,
                    guideline_version_id: version_id,
                    guideline_version: version_number,
                };
                // A reload or a second tab gets the pair already in hand, shown again under
                // the current version, which the lease now records.
                let held: Option<(i64, i64, i64)> = sqlx::query_as(
                    "SELECT l.id, l.pair_id, l.expires_at FROM leases l \
                     JOIN pairs p ON p.id = l.pair_id \
                     WHERE l.user_id = $1 AND p.project_id = $2 AND l.expires_at > $3 \
                     ORDER BY l.id LIMIT 1",
                )
                .bind(user_id)
                .bind(project.id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((lease_id, pair_id, expires_at)) = held {
                    sqlx::query("UPDATE leases SET guideline_version_id = $1 WHERE id = $2")
                        .bind(version_id)
                        .bind(lease_id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(Some(claim(pair_id, lease_id, expires_at)));
                }
                let mut passed_over: Vec<i64> = Vec::new();
                for gold in [prefer_gold, !prefer_gold] {
                    loop {
                        let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                            "SELECT p.id FROM pairs p WHERE p.project_id = ",
                        );
                        qb.push_bind(project.id)
                            // Matches the partial index of open pairs (migration 0009).
                            .push(" AND p.filled = 0 AND p.judgment_count < ")
                            .push_bind(project.overlap_k)
                            .push(" AND p.judgment_count + (SELECT COUNT(*) FROM leases l \
                                   WHERE l.pair_id = p.id AND l.expires_at > ")
                            .push_bind(now)
                            .push(") < ")
                            .push_bind(project.overlap_k)
                            .push(" AND NOT EXISTS (SELECT 1 FROM judgments j WHERE j.pair_id = p.id \
                                   AND j.user_id = ")
                            .push_bind(user_id)
                            .push(") AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.pair_id = p.id \
                                   AND s.user_id = ")
                            .push_bind(user_id)
                            .push(if gold { ") AND EXISTS" } else { ") AND NOT EXISTS" })
                            .push(" (SELECT 1 FROM gold_answers g WHERE g.pair_id = p.id)");
                        for id in &passed_over {
                            qb.push(" AND p.id <> ").push_bind(*id);
                        }
                        qb.push(" ORDER BY ").push(QUEUE_ORDER).push(" LIMIT 1").push(CLAIM_LOCK);
                        let candidate: Option<i64> =
                            qb.build_query_scalar().fetch_optional(&mut *tx).await?;
                        let Some(pair_id) = candidate else { break };
                        // The row lock (PostgreSQL) or the write lock (SQLite) is held now:
                        // count again in a fresh statement, which sees every committed lease.
                        let taken: i64 = sqlx::query_scalar(
                            "SELECT p.judgment_count + (SELECT COUNT(*) FROM leases l \
                             WHERE l.pair_id = p.id AND l.expires_at > $2) FROM pairs p WHERE p.id = $1",
                        )
                        .bind(pair_id)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                        if taken >= project.overlap_k {
                            passed_over.push(pair_id);
                            continue;
                        }
                        let expires_at = now.saturating_add(lease_ms);
                        let lease_id: i64 = sqlx::query_scalar(
                            "INSERT INTO leases (pair_id, user_id, created_at, expires_at, \
                               guideline_version_id) \
                             VALUES ($1, $2, $3, $4, $5) \
                             ON CONFLICT (pair_id, user_id) DO UPDATE \
                             SET created_at = excluded.created_at, expires_at = excluded.expires_at, \
                               guideline_version_id = excluded.guideline_version_id \
                             RETURNING id",
                        )
                        .bind(pair_id)
                        .bind(user_id)
                        .bind(now)
                        .bind(expires_at)
                        .bind(version_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        return Ok(Some(claim(pair_id, lease_id, expires_at)));
                    }
                }
                tx.commit().await?;
                Ok(None)
            }

            async fn submit_judgment(
                &self,
                project: &Project,
                user_id: i64,
                input: &JudgmentInput,
                revision: bool,
                now: i64,
            ) -> Result<Submitted, QueueError> {
                let mut tx = self.begin_write().await?;
                // Every writer of this pair's judgments and leases takes this lock first.
                let lock = format!(
                    "SELECT judgment_count FROM pairs WHERE id = $1 AND project_id = $2{ROW_LOCK}"
                );
                let judged_by: Option<i64> = sqlx::query_scalar(&lock)
                    .bind(input.pair_id)
                    .bind(project.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(judgment_count) = judged_by else {
                    return Err(QueueError::NotFound);
                };
                let replay: Option<(i64, i64, i64, i64)> = sqlx::query_as(
                    "SELECT id, pair_id, user_id, revision FROM judgments WHERE idempotency_key = $1",
                )
                .bind(&input.idempotency_key)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((judgment_id, pair_id, by, rev)) = replay {
                    return if pair_id == input.pair_id && by == user_id {
                        Ok(Submitted { judgment_id, revision: rev, replayed: true })
                    } else {
                        Err(QueueError::KeyReused)
                    };
                }
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(revision) FROM judgments WHERE pair_id = $1 AND user_id = $2",
                )
                .bind(input.pair_id)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
                let next_revision = match (last, revision) {
                    (Some(_), false) => return Err(QueueError::AlreadyJudged),
                    (None, true) => return Err(QueueError::NothingToRevise),
                    (Some(r), true) => r + 1,
                    (None, false) => 1,
                };
                if !revision {
                    // The invariant itself, not the caller's lease, decides: a first
                    // judgment is stored only while judgments plus the live leases of
                    // others leave room under k. A lease alone is not enough: `now` is
                    // read before the write lock is taken (and on another server's
                    // clock), so a lease this call sees as live may already have been
                    // counted as expired by a claimer that took the slot.
                    let others: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM leases WHERE pair_id = $1 AND user_id <> $2 \
                         AND expires_at > $3",
                    )
                    .bind(input.pair_id)
                    .bind(user_id)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    if judgment_count + others >= project.overlap_k {
                        return Err(QueueError::LeaseExpired);
                    }
                }
                let ranking = input.ranking.as_ref();
                let judgment_id: i64 = sqlx::query_scalar(
                    "INSERT INTO judgments (pair_id, user_id, revision, label, rules_cited, rationale, \
                       time_spent_ms, guideline_version_id, ranking, first_wrong_steps, corrected_cot, \
                       idempotency_key, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                )
                .bind(input.pair_id)
                .bind(user_id)
                .bind(next_revision)
                .bind(input.label.as_deref())
                .bind(json_text(&input.rules))
                .bind(input.rationale.as_deref())
                .bind(input.duration_ms)
                .bind(input.guideline_version_id)
                .bind(ranking.map(|r| json_text(&r.ranking)))
                .bind(ranking.map(|r| json_text(&r.step_flags)))
                .bind(ranking.and_then(|r| r.corrected_cot.as_ref()).map(json_text))
                .bind(&input.idempotency_key)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match conflict_on_unique(e, String::new) {
                    // The key went to a judgment of another pair in a concurrent commit.
                    StoreError::Conflict(_) => QueueError::KeyReused,
                    other => QueueError::Store(other),
                })?;
                if !revision {
                    sqlx::query(
                        "UPDATE pairs SET judgment_count = judgment_count + 1, \
                           filled = CASE WHEN judgment_count + 1 >= $2 THEN 1 ELSE 0 END \
                         WHERE id = $1",
                    )
                    .bind(input.pair_id)
                    .bind(project.overlap_k)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM leases WHERE pair_id = $1 AND user_id = $2")
                        .bind(input.pair_id)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Submitted { judgment_id, revision: next_revision, replayed: false })
            }

            async fn skip_pair(
                &self,
                project: &Project,
                user_id: i64,
                pair_id: i64,
                reason: Option<&str>,
                now: i64,
            ) -> Result<(), QueueError> {
                let mut tx = self.begin_write().await?;
                let lock = format!("SELECT id FROM pairs WHERE id = $1 AND project_id = $2{ROW_LOCK}");
                let found: Option<i64> = sqlx::query_scalar(&lock)
                    .bind(pair_id)
                    .bind(project.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(QueueError::NotFound);
                }
                let judged: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM judgments WHERE pair_id = $1 AND user_id = $2 LIMIT 1",
                )
                .bind(pair_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                if judged.is_some() {
                    return Err(QueueError::AlreadyJudged);
                }
                sqlx::query(
                    "INSERT INTO skips (pair_id, user_id, reason, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (pair_id, user_id) DO NOTHING",
                )
                .bind(pair_id)
                .bind(user_id)
                .bind(reason)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM leases WHERE pair_id = $1 AND user_id = $2")
                    .bind(pair_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn pair_view(
                &self,
                project: &Project,
                pair_id: i64,
            ) -> Result<Option<PairView>, StoreError> {
                type PairRow = (
                    String, String, String, String, String, String,
                    Option<f64>, String, Option<String>, Option<String>, Option<String>,
                );
                let row: Option<PairRow> = sqlx::query_as(
                    "SELECT q.text, q.band, i.external_id, i.title, i.category, i.attributes, \
                       i.price, i.images, i.description, p.task, p.priority_reason \
                     FROM pairs p JOIN queries q ON q.id = p.query_id JOIN items i ON i.id = p.item_id \
                     WHERE p.id = $1 AND p.project_id = $2",
                )
                .bind(pair_id)
                .bind(project.id)
                .fetch_optional(&self.pool)
                .await?;
                let Some((query, band, id, title, category, attributes, price, images, description, task, why)) = row
                else {
                    return Ok(None);
                };
                let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("{what}: {e}"));
                let attributes: BTreeMap<String, String> =
                    serde_json::from_str(&attributes).map_err(|e| corrupt("items.attributes", e))?;
                let candidates: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
                    "SELECT position, text, steps, label, model FROM cot_candidates \
                     WHERE pair_id = $1 ORDER BY position",
                )
                .bind(pair_id)
                .fetch_all(&self.pool)
                .await?;
                let cot = candidates
                    .into_iter()
                    .map(|(position, text, steps, label, model)| {
                        Ok(CotView {
                            position,
                            // Blind unless the project's admins reveal the models.
                            model: project.reveal_models.then_some(model),
                            steps: serde_json::from_str(&steps).map_err(|e| corrupt("cot_candidates.steps", e))?,
                            text,
                            label,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(Some(PairView {
                    pair_id,
                    task: match task {
                        Some(task) => $crate::storage::shared::parse_stored("pairs.task", task)?,
                        None => project.task,
                    },
                    query,
                    band: $crate::storage::shared::parse_stored("queries.band", band)?,
                    item: ItemView {
                        id,
                        title,
                        category: serde_json::from_str(&category).map_err(|e| corrupt("items.category", e))?,
                        attributes: attributes.into_iter().collect(),
                        price,
                        images: serde_json::from_str(&images).map_err(|e| corrupt("items.images", e))?,
                        description,
                    },
                    cot,
                    why,
                }))
            }

            async fn export_page(
                &self,
                project: &Project,
                after: i64,
                limit: i64,
            ) -> Result<Vec<ExportPair>, StoreError> {
                let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("{what}: {e}"));
                let rows = sqlx::query(
                    "SELECT p.id, p.task, q.text, q.band, i.external_id, i.title, i.category, \
                       i.attributes, i.price, i.images, i.description, g.label AS gold_label \
                     FROM pairs p JOIN queries q ON q.id = p.query_id JOIN items i ON i.id = p.item_id \
                     LEFT JOIN gold_answers g ON g.pair_id = p.id \
                     WHERE p.project_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3",
                )
                .bind(project.id)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                let mut pairs = Vec::with_capacity(rows.len());
                let mut index: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
                for row in &rows {
                    let id: i64 = row.try_get("id")?;
                    let category: String = row.try_get("category")?;
                    let attributes: String = row.try_get("attributes")?;
                    let images: String = row.try_get("images")?;
                    let task: Option<String> = row.try_get("task")?;
                    index.insert(id, pairs.len());
                    pairs.push(ExportPair {
                        pair_id: id,
                        task: match task {
                            Some(task) => $crate::storage::shared::parse_stored("pairs.task", task)?,
                            None => project.task,
                        },
                        query: row.try_get("text")?,
                        band: $crate::storage::shared::parse_stored("queries.band", row.try_get("band")?)?,
                        item_id: row.try_get("external_id")?,
                        item_title: row.try_get("title")?,
                        category: serde_json::from_str(&category).map_err(|e| corrupt("items.category", e))?,
                        attributes: serde_json::from_str(&attributes).map_err(|e| corrupt("items.attributes", e))?,
                        price: row.try_get("price")?,
                        images: serde_json::from_str(&images).map_err(|e| corrupt("items.images", e))?,
                        description: row.try_get("description")?,
                        tags: Vec::new(),
                        candidates: Vec::new(),
                        judgments: Vec::new(),
                        adjudicated: None,
                        gold_label: row.try_get("gold_label")?,
                    });
                }
                if pairs.is_empty() {
                    return Ok(pairs);
                }
                let (first, last) = (pairs[0].pair_id, pairs[pairs.len() - 1].pair_id);
                // The page's pairs are exactly the project's ids in [first, last]. The
                // range is put on both sides of each join, so whichever table the planner
                // starts from reads only the page (a range on one side made SQLite walk
                // the whole project for every page: 25 s for 100,000 judgments).
                let in_page = |alias: &str| {
                    format!(
                        "{alias}.pair_id BETWEEN $2 AND $3 AND p.id BETWEEN $2 AND $3 \
                         AND p.project_id = $1"
                    )
                };
                let tags: Vec<(i64, String)> = sqlx::query_as(&format!(
                    "SELECT t.pair_id, t.tag FROM pair_tags t JOIN pairs p ON p.id = t.pair_id \
                     WHERE {} ORDER BY t.pair_id, t.tag",
                    in_page("t")
                ))
                .bind(project.id).bind(first).bind(last)
                .fetch_all(&self.pool)
                .await?;
                for (pair_id, tag) in tags {
                    if let Some(&i) = index.get(&pair_id) {
                        pairs[i].tags.push(tag);
                    }
                }
                let candidates: Vec<(i64, i64, String, String, String, Option<String>)> = sqlx::query_as(&format!(
                    "SELECT c.pair_id, c.position, c.model, c.text, c.steps, c.label \
                     FROM cot_candidates c JOIN pairs p ON p.id = c.pair_id \
                     WHERE {} ORDER BY c.pair_id, c.position",
                    in_page("c")
                ))
                .bind(project.id).bind(first).bind(last)
                .fetch_all(&self.pool)
                .await?;
                for (pair_id, position, model, text, steps, label) in candidates {
                    if let Some(&i) = index.get(&pair_id) {
                        pairs[i].candidates.push(ExportCandidate {
                            position,
                            model,
                            text,
                            steps: serde_json::from_str(&steps).map_err(|e| corrupt("cot_candidates.steps", e))?,
                            label,
                        });
                    }
                }
                // Each annotator's current judgment: their latest revision.
                let judgments = sqlx::query(&format!(
                    "SELECT j.id, j.pair_id, j.user_id, j.label, j.ranking, j.first_wrong_steps, \
                       j.corrected_cot, j.rules_cited, v.number AS version, j.created_at \
                     FROM judgments j JOIN pairs p ON p.id = j.pair_id \
                     LEFT JOIN guideline_versions v ON v.id = j.guideline_version_id \
                     WHERE {} AND j.revision = (SELECT MAX(j2.revision) FROM judgments j2 \
                       WHERE j2.pair_id = j.pair_id AND j2.user_id = j.user_id) \
                     ORDER BY j.pair_id, j.id",
                    in_page("j")
                ))
                .bind(project.id).bind(first).bind(last)
                .fetch_all(&self.pool)
                .await?;
                for row in &judgments {
                    let pair_id: i64 = row.try_get("pair_id")?;
                    let parse_opt = |column: &str| -> Result<Option<serde_json::Value>, StoreError> {
                        let text: Option<String> = row.try_get(column)?;
                        text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt(column, e))).transpose()
                    };
                    let judgment = ExportJudgment {
                        id: row.try_get("id")?,
                        user_id: row.try_get("user_id")?,
                        label: row.try_get("label")?,
                        ranking: parse_opt("ranking")?
                            .map(serde_json::from_value)
                            .transpose()
                            .map_err(|e| corrupt("judgments.ranking", e))?,
                        step_flags: parse_opt("first_wrong_steps")?
                            .map(serde_json::from_value)
                            .transpose()
                            .map_err(|e| corrupt("judgments.first_wrong_steps", e))?
                            .unwrap_or_default(),
                        corrected_cot: parse_opt("corrected_cot")?
                            .map(serde_json::from_value)
                            .transpose()
                            .map_err(|e| corrupt("judgments.corrected_cot", e))?,
                        guideline_version: row.try_get("version")?,
                        rules: parse_opt("rules_cited")?
                            .map(serde_json::from_value)
                            .transpose()
                            .map_err(|e| corrupt("judgments.rules_cited", e))?
                            .unwrap_or_default(),
                        created_at: row.try_get("created_at")?,
                    };
                    if let Some(&i) = index.get(&pair_id) {
                        pairs[i].judgments.push(judgment);
                    }
                }
                let decisions: Vec<(i64, String)> = sqlx::query_as(&format!(
                    "SELECT a.pair_id, a.label FROM adjudications a JOIN pairs p ON p.id = a.pair_id \
                     WHERE {} ORDER BY a.pair_id, a.created_at, a.id",
                    in_page("a")
                ))
                .bind(project.id).bind(first).bind(last)
                .fetch_all(&self.pool)
                .await?;
                for (pair_id, label) in decisions {
                    if let Some(&i) = index.get(&pair_id) {
                        pairs[i].adjudicated = Some(label);
                    }
                }
                Ok(pairs)
            }

            async fn update_project_settings(
                &self,
                project: &Project,
                settings: &ProjectSettings,
                actor: Option<i64>,
                now: i64,
            ) -> Result<Project, StoreError> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "UPDATE projects SET task = $1, overlap_k = $2, gold_rate = $3, \
                       lease_seconds = $4, reveal_models = $5, retrain_every = $6, scorer_strategy = $7, \
                       gold_window = $8, gold_min_accuracy = $9, pause_flagged = $10, review_alpha = $11 \
                     WHERE id = $12 RETURNING {PROJECT_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(settings.task.as_str())
                    .bind(settings.overlap_k)
                    .bind(settings.gold_rate)
                    .bind(settings.lease_seconds)
                    .bind(settings.reveal_models)
                    .bind(settings.retrain_every)
                    .bind(settings.scorer_strategy.as_str())
                    .bind(settings.gold_window)
                    .bind(settings.gold_min_accuracy)
                    .bind(settings.pause_flagged)
                    .bind(settings.review_alpha)
                    .bind(project.id)
                    .fetch_one(&mut *tx)
                    .await?;
                let updated = project_from_row(&row)?;
                // A new k opens or fills pairs: the claim's index holds the open ones.
                if updated.overlap_k != project.overlap_k {
                    sqlx::query(
                        "UPDATE pairs SET filled = CASE WHEN judgment_count >= $2 THEN 1 ELSE 0 END \
                         WHERE project_id = $1",
                    )
                    .bind(project.id)
                    .bind(updated.overlap_k)
                    .execute(&mut *tx)
                    .await?;
                }
                audit(&mut tx, actor, "project.settings", "project", project.id, &serde_json::json!({
                    "before": ProjectSettings::of(project),
                    "after": settings,
                }), now).await?;
                tx.commit().await?;
                Ok(updated)
            }

            async fn pair_for_judging(
                &self,
                project: &Project,
                pair_id: i64,
            ) -> Result<Option<PairForJudging>, StoreError> {
                let task: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT task FROM pairs WHERE id = $1 AND project_id = $2")
                        .bind(pair_id)
                        .bind(project.id)
                        .fetch_optional(&self.pool)
                        .await?;
                let Some((task,)) = task else { return Ok(None) };
                let task: TaskKind = match task {
                    Some(task) => $crate::storage::shared::parse_stored("pairs.task", task)?,
                    None => project.task,
                };
                let rows: Vec<(String, Option<String>)> = sqlx::query_as(
                    "SELECT steps, label FROM cot_candidates WHERE pair_id = $1 ORDER BY position",
                )
                .bind(pair_id)
                .fetch_all(&self.pool)
                .await?;
                let candidates = rows
                    .into_iter()
                    .map(|(steps, label)| {
                        let steps: Vec<serde_json::Value> = serde_json::from_str(&steps)
                            .map_err(|e| StoreError::Corrupt(format!("cot_candidates.steps: {e}")))?;
                        Ok(CandidateShape { steps: steps.len(), label })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(Some(PairForJudging { task, candidates }))
            }

            async fn served_guideline_version(
                &self,
                project: &Project,
                pair_id: i64,
                user_id: i64,
            ) -> Result<Option<i64>, StoreError> {
                let lease: Option<Option<i64>> = sqlx::query_scalar(
                    "SELECT l.guideline_version_id FROM leases l JOIN pairs p ON p.id = l.pair_id \
                     WHERE l.pair_id = $1 AND l.user_id = $2 AND p.project_id = $3",
                )
                .bind(pair_id)
                .bind(user_id)
                .bind(project.id)
                .fetch_optional(&self.pool)
                .await?;
                if let Some(version) = lease {
                    return Ok(version);
                }
                let latest: Option<(i64, i64)> = sqlx::query_as($crate::storage::shared::LATEST_PUBLISHED_VERSION)
                    .bind(project.id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(latest.map(|(id, _)| id))
            }

            async fn guideline_rule_ids(
                &self,
                project: &Project,
                version_id: Option<i64>,
            ) -> Result<Option<Vec<String>>, StoreError> {
                let version: Option<i64> = sqlx::query_scalar(
                    "SELECT v.id FROM guideline_versions v JOIN guidelines g ON g.id = v.guideline_id \
                     WHERE g.project_id = $1 AND v.published_at IS NOT NULL \
                       AND ($2 IS NULL OR v.id = $2) \
                     ORDER BY v.number DESC LIMIT 1",
                )
                .bind(project.id)
                .bind(version_id)
                .fetch_optional(&self.pool)
                .await?;
                let Some(version) = version else { return Ok(None) };
                let ids: Vec<String> =
                    sqlx::query_scalar("SELECT rule_key FROM rules WHERE version_id = $1 ORDER BY position")
                        .bind(version)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(Some(ids))
            }

            async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
                Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
            }

            async fn save_session(&self, id: &str, data: &str, expires_at: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
                )
                .bind(id)
                .bind(data)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn load_session(&self, id: &str, now: i64) -> Result<Option<String>, StoreError> {
                Ok(sqlx::query_scalar("SELECT data FROM sessions WHERE id = $1 AND expires_at > $2")
                    .bind(id)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM sessions WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn latest_guideline(
                &self,
                project: &Project,
            ) -> Result<Option<$crate::storage::rows::PublishedGuideline>, StoreError> {
                let version: Option<(i64, i64)> = sqlx::query_as(
                    $crate::storage::shared::LATEST_PUBLISHED_VERSION,
                )
                .bind(project.id)
                .fetch_optional(&self.pool)
                .await?;
                let Some((version_id, number)) = version else {
                    return Ok(None);
                };
                let rules = rules_of(&self.pool, version_id).await?;
                Ok(Some($crate::storage::rows::PublishedGuideline { version_id, version: number, rules }))
            }

            async fn progress(
                &self,
                project: &Project,
                user_id: i64,
                since: i64,
                now: i64,
            ) -> Result<$crate::storage::rows::Progress, StoreError> {
                let judged_today: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM judgments j JOIN pairs p ON p.id = j.pair_id \
                     WHERE p.project_id = $1 AND j.user_id = $2 AND j.created_at >= $3",
                )
                .bind(project.id)
                .bind(user_id)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
                let left: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pairs p WHERE p.project_id = $1 \
                     AND p.judgment_count + (SELECT COUNT(*) FROM leases l WHERE l.pair_id = p.id \
                       AND l.expires_at > $3 AND l.user_id <> $2) < $4 \
                     AND NOT EXISTS (SELECT 1 FROM judgments j WHERE j.pair_id = p.id AND j.user_id = $2) \
                     AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.pair_id = p.id AND s.user_id = $2)",
                )
                .bind(project.id)
                .bind(user_id)
                .bind(now)
                .bind(project.overlap_k)
                .fetch_one(&self.pool)
                .await?;
                let (collected, pairs): (i64, i64) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(judgment_count), 0) AS BIGINT), COUNT(*) FROM pairs WHERE project_id = $1",
                )
                .bind(project.id)
                .fetch_one(&self.pool)
                .await?;
                Ok($crate::storage::rows::Progress {
                    judged_since: judged_today,
                    open: left,
                    collected,
                    wanted: pairs * project.overlap_k,
                })
            }

            #[cfg(feature = "test-support")]
            async fn judgments(
                &self,
                project: &Project,
            ) -> Result<Vec<$crate::storage::rows::JudgmentRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT j.id, j.pair_id, j.user_id, j.revision, j.label, j.rules_cited, \
                       j.ranking, j.first_wrong_steps, j.corrected_cot, j.idempotency_key \
                     FROM judgments j JOIN pairs p ON p.id = j.pair_id \
                     WHERE p.project_id = $1 ORDER BY j.id",
                )
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::storage::rows::JudgmentRow {
                            id: row.try_get("id")?,
                            pair_id: row.try_get("pair_id")?,
                            user_id: row.try_get("user_id")?,
                            revision: row.try_get("revision")?,
                            label: row.try_get("label")?,
                            rules_cited: row.try_get("rules_cited")?,
                            ranking: row.try_get("ranking")?,
                            step_flags: row.try_get("first_wrong_steps")?,
                            corrected_cot: row.try_get("corrected_cot")?,
                            idempotency_key: row.try_get("idempotency_key")?,
                        })
                    })
                    .collect()
            }

            async fn embeddings(
                &self,
                model_version: &str,
                hashes: &[String],
            ) -> Result<HashMap<String, Vec<u8>>, StoreError> {
                let mut found = HashMap::with_capacity(hashes.len());
                for chunk in hashes.chunks(rows_per_statement(1) - 1) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT text_hash, vector FROM embeddings WHERE model_version = ",
                    );
                    qb.push_bind(model_version).push(" AND text_hash IN (");
                    let mut list = qb.separated(", ");
                    for hash in chunk {
                        list.push_bind(hash);
                    }
                    qb.push(")");
                    let rows: Vec<(String, Vec<u8>)> = qb.build_query_as().fetch_all(&self.pool).await?;
                    found.extend(rows);
                }
                Ok(found)
            }

            async fn store_embeddings(
                &self,
                model_version: &str,
                vectors: &[(String, Vec<u8>)],
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                for chunk in vectors.chunks(rows_per_statement(3)) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO embeddings (model_version, text_hash, vector) ",
                    );
                    qb.push_values(chunk, |mut row, (hash, vector)| {
                        row.push_bind(model_version).push_bind(hash).push_bind(vector);
                    });
                    qb.push(" ON CONFLICT DO NOTHING");
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn record_scorer_run(
                &self,
                project: &Project,
                run: &$crate::storage::ScorerRun,
                now: i64,
            ) -> Result<i64, StoreError> {
                let mut tx = self.begin_write().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO scorer_runs (project_id, model_version, labels_used, heldout_accuracy, \
                       heldout_macro_f1, temperature, train_ms, head, head_config, created_at, complete_pairs) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                )
                .bind(project.id)
                .bind(&run.model_version)
                .bind(run.labels_used)
                .bind(run.heldout_accuracy)
                .bind(run.heldout_macro_f1)
                .bind(run.temperature)
                .bind(run.train_ms)
                .bind(&run.head)
                .bind(&run.head_config)
                .bind(run.created_at)
                .bind(run.complete_pairs)
                .fetch_one(&mut *tx)
                .await?;
                audit(&mut tx, None, "scorer.train", "project", project.id, &serde_json::json!({
                    "run": id,
                    "model_version": run.model_version,
                    "labels_used": run.labels_used,
                    "heldout_macro_f1": run.heldout_macro_f1,
                }), now).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn scorer_runs(
                &self,
                project: &Project,
                limit: i64,
                with_head: bool,
            ) -> Result<Vec<$crate::storage::ScorerRun>, StoreError> {
                let head = if with_head { "head" } else { "NULL AS head" };
                let rows = sqlx::query(&format!(
                    "SELECT id, model_version, labels_used, heldout_accuracy, heldout_macro_f1, \
                       temperature, train_ms, {head}, head_config, created_at, complete_pairs \
                     FROM scorer_runs WHERE project_id = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(project.id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::storage::ScorerRun {
                            id: row.try_get("id")?,
                            model_version: row.try_get("model_version")?,
                            labels_used: row.try_get("labels_used")?,
                            heldout_accuracy: row.try_get("heldout_accuracy")?,
                            heldout_macro_f1: row.try_get("heldout_macro_f1")?,
                            temperature: row.try_get("temperature")?,
                            train_ms: row.try_get("train_ms")?,
                            head: row.try_get::<Option<Vec<u8>>, _>("head")?.unwrap_or_default(),
                            head_config: row.try_get("head_config")?,
                            created_at: row.try_get("created_at")?,
                            complete_pairs: row.try_get("complete_pairs")?,
                        })
                    })
                    .collect()
            }

            async fn set_priorities(
                &self,
                project: &Project,
                priorities: &[(i64, f64, String)],
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                // One statement per chunk, not per pair: a million-pair re-score is a few
                // hundred statements.
                for chunk in priorities.chunks(rows_per_statement(3) - 1) {
                    let mut qb = QueryBuilder::<$db>::new("WITH v (id, priority, reason) AS (");
                    qb.push_values(chunk, |mut row, (pair_id, priority, reason)| {
                        row.push_bind(*pair_id).push_bind(*priority).push_bind(reason.as_str());
                    });
                    qb.push(
                        ") UPDATE pairs SET priority = v.priority, priority_reason = v.reason \
                         FROM v WHERE pairs.id = v.id AND pairs.project_id = ",
                    );
                    qb.push_bind(project.id);
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn complete_pairs(&self, project: &Project) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pairs p WHERE p.project_id = $1 AND (p.judgment_count >= $2 \
                       OR EXISTS (SELECT 1 FROM adjudications a WHERE a.pair_id = p.id))",
                )
                .bind(project.id)
                .bind(project.overlap_k)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn gold_rows(&self, project: &Project) -> Result<Vec<$crate::storage::rows::GoldRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT j.user_id, u.name, j.pair_id, j.label, g.label AS gold, j.rules_cited, j.created_at \
                     FROM judgments j JOIN gold_answers g ON g.pair_id = j.pair_id \
                     JOIN pairs p ON p.id = j.pair_id JOIN users u ON u.id = j.user_id \
                     WHERE p.project_id = $1 AND j.revision = 1 ORDER BY j.created_at, j.id",
                )
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                let tags: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT t.pair_id, t.tag FROM pair_tags t JOIN gold_answers g ON g.pair_id = t.pair_id \
                     JOIN pairs p ON p.id = t.pair_id WHERE p.project_id = $1 ORDER BY t.pair_id, t.tag",
                )
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                let mut tags_of: HashMap<i64, Vec<String>> = HashMap::new();
                for (pair, tag) in tags {
                    tags_of.entry(pair).or_default().push(tag);
                }
                rows.iter()
                    .map(|row| {
                        let cited: String = row.try_get("rules_cited")?;
                        let rules = cited_rules(&cited)?;
                        let pair_id: i64 = row.try_get("pair_id")?;
                        Ok($crate::storage::rows::GoldRow {
                            user_id: row.try_get("user_id")?,
                            user: row.try_get("name")?,
                            pair_id,
                            label: row.try_get("label")?,
                            gold: row.try_get("gold")?,
                            rules: rules.into_iter().map(|r| r.id).collect(),
                            tags: tags_of.get(&pair_id).cloned().unwrap_or_default(),
                            at: row.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            async fn recent_gold(
                &self,
                project: &Project,
                user_id: i64,
                window: i64,
            ) -> Result<Vec<(Option<String>, String)>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT j.label, g.label FROM judgments j JOIN gold_answers g ON g.pair_id = j.pair_id \
                     JOIN pairs p ON p.id = j.pair_id \
                     WHERE j.user_id = $1 AND p.project_id = $2 AND j.revision = 1 \
                     ORDER BY j.created_at DESC, j.id DESC LIMIT $3",
                )
                .bind(user_id)
                .bind(project.id)
                .bind(window)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn review_rows(&self, project: &Project) -> Result<$crate::storage::rows::ReviewRows, StoreError> {
                let judgments: Vec<(i64, i64, String, i64)> = sqlx::query_as(
                    "SELECT j.pair_id, j.user_id, j.label, j.created_at FROM judgments j \
                     JOIN pairs p ON p.id = j.pair_id \
                     WHERE p.project_id = $1 AND j.label IS NOT NULL \
                     ORDER BY j.pair_id, j.user_id, j.revision",
                )
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                let model_labels: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT c.pair_id, c.label FROM cot_candidates c JOIN pairs p ON p.id = c.pair_id \
                     WHERE p.project_id = $1 AND p.judgment_count > 0 AND c.label IS NOT NULL \
                     ORDER BY c.pair_id, c.position",
                )
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                // The latest decision per pair: decisions of one pair never share a time.
                let decided: Vec<(i64, i64, String)> = sqlx::query_as(
                    "SELECT a.pair_id, a.created_at, a.label FROM adjudications a JOIN pairs p ON p.id = a.pair_id \
                     WHERE p.project_id = $1 AND a.created_at = \
                       (SELECT MAX(b.created_at) FROM adjudications b WHERE b.pair_id = a.pair_id) \
                     ORDER BY a.pair_id, a.id",
                )
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                let complete: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM pairs WHERE project_id = $1 AND judgment_count >= $2 ORDER BY id",
                )
                .bind(project.id)
                .bind(project.overlap_k)
                .fetch_all(&self.pool)
                .await?;
                let rereviews = self
                    .open_rereviews(project, None)
                    .await?
                    .into_iter()
                    .map(|r| (r.pair_id, r.rule, r.from_version, r.to_version))
                    .collect();
                Ok($crate::storage::rows::ReviewRows { judgments, model_labels, decided, complete, rereviews })
            }

            async fn pair_judgments(
                &self,
                project: &Project,
                pair_id: i64,
            ) -> Result<Vec<$crate::storage::rows::JudgmentDetail>, StoreError> {
                let rows = sqlx::query(
                    "SELECT j.id, u.name, j.revision, j.label, j.rationale, j.rules_cited, v.number, j.created_at \
                     FROM judgments j JOIN pairs p ON p.id = j.pair_id JOIN users u ON u.id = j.user_id \
                     LEFT JOIN guideline_versions v ON v.id = j.guideline_version_id \
                     WHERE p.project_id = $1 AND j.pair_id = $2 ORDER BY u.name, j.user_id, j.revision",
                )
                .bind(project.id)
                .bind(pair_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let cited: String = row.try_get("rules_cited")?;
                        Ok($crate::storage::rows::JudgmentDetail {
                            id: row.try_get("id")?,
                            annotator: row.try_get("name")?,
                            revision: row.try_get("revision")?,
                            label: row.try_get("label")?,
                            rationale: row.try_get("rationale")?,
                            rules: cited_rules(&cited)?,
                            guideline_version: row.try_get("number")?,
                            created_at: row.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            async fn decisions(
                &self,
                project: &Project,
                pair_id: i64,
            ) -> Result<Vec<$crate::storage::rows::Decision>, StoreError> {
                let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
                    "SELECT a.id, u.name, a.label, a.note, a.created_at FROM adjudications a \
                     JOIN pairs p ON p.id = a.pair_id JOIN users u ON u.id = a.reviewer_id \
                     WHERE p.project_id = $1 AND a.pair_id = $2 ORDER BY a.created_at, a.id",
                )
                .bind(project.id)
                .bind(pair_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, reviewer, label, note, created_at)| $crate::storage::rows::Decision {
                        id,
                        reviewer,
                        label,
                        note,
                        created_at,
                    })
                    .collect())
            }

            async fn record_decision(
                &self,
                project: &Project,
                pair_id: i64,
                reviewer_id: i64,
                label: &str,
                note: &str,
                now: i64,
            ) -> Result<i64, StoreError> {
                let mut tx = self.begin_write().await?;
                let found: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM pairs WHERE id = $1 AND project_id = $2")
                        .bind(pair_id)
                        .bind(project.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if found.is_none() {
                    return Err(StoreError::NotFound);
                }
                let id = insert_decision(&mut tx, pair_id, reviewer_id, label, note, now).await?;
                audit(&mut tx, Some(reviewer_id), "pair.decide", "pair", pair_id, &serde_json::json!({
                    "label": label,
                    "note": note,
                }), now).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn judgment_log(
                &self,
                project: &Project,
            ) -> Result<Vec<$crate::storage::rows::LoggedJudgment>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT j.user_id, u.name, j.created_at AS at, j.time_spent_ms AS duration_ms, \
                     j.revision FROM judgments j \
                     JOIN pairs p ON p.id = j.pair_id JOIN users u ON u.id = j.user_id \
                     WHERE p.project_id = $1 ORDER BY j.created_at, j.id",
                )
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn pair_facets(
                &self,
                project: &Project,
            ) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), StoreError> {
                let judged = "(p.judgment_count > 0 OR EXISTS (SELECT 1 FROM adjudications a WHERE a.pair_id = p.id))";
                let bands: Vec<(i64, String)> = sqlx::query_as(&format!(
                    "SELECT p.id, q.band FROM pairs p JOIN queries q ON q.id = p.query_id \
                     WHERE p.project_id = $1 AND {judged} ORDER BY p.id"
                ))
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                let tags: Vec<(i64, String)> = sqlx::query_as(&format!(
                    "SELECT t.pair_id, t.tag FROM pair_tags t JOIN pairs p ON p.id = t.pair_id \
                     WHERE p.project_id = $1 AND {judged} ORDER BY t.pair_id, t.tag"
                ))
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                Ok((bands, tags))
            }

            async fn queue_depth(
                &self,
                project: &Project,
            ) -> Result<Vec<$crate::storage::rows::BandDepth>, StoreError> {
                let depth = format!(
                    "SELECT q.band, {COMPLETE_PAIRS}, COUNT(*) \
                     FROM pairs p JOIN queries q ON q.id = p.query_id \
                     JOIN projects pr ON pr.id = p.project_id WHERE p.project_id = $1 \
                     GROUP BY q.band ORDER BY q.band"
                );
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(&depth)
                    .bind(project.id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(|(band, complete, pairs)| {
                        Ok($crate::storage::rows::BandDepth {
                            band: $crate::storage::shared::parse_stored("queries.band", band)?,
                            complete,
                            pairs,
                        })
                    })
                    .collect()
            }

            async fn save_draft(
                &self,
                project: &Project,
                rules: &[RuleRecord],
                author: Option<i64>,
                now: i64,
            ) -> Result<i64, StoreError> {
                let mut tx = self.begin_write().await?;
                let guideline_id = guideline_of(&mut tx, project, now).await?;
                let draft: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM guideline_versions WHERE guideline_id = $1 AND published_at IS NULL",
                )
                .bind(guideline_id)
                .fetch_optional(&mut *tx)
                .await?;
                let version_id = match draft {
                    Some(id) => {
                        sqlx::query(
                            "DELETE FROM rule_examples WHERE rule_id IN (SELECT id FROM rules WHERE version_id = $1)",
                        )
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query("DELETE FROM rules WHERE version_id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("UPDATE guideline_versions SET author_id = $1, created_at = $2 WHERE id = $3")
                            .bind(author)
                            .bind(now)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        id
                    }
                    None => sqlx::query_scalar(
                        "INSERT INTO guideline_versions (guideline_id, author_id, created_at) \
                         VALUES ($1, $2, $3) RETURNING id",
                    )
                    .bind(guideline_id)
                    .bind(author)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?,
                };
                insert_rules(&mut tx, project, version_id, rules).await?;
                audit(&mut tx, author, "guideline.draft", "guideline_version", version_id, &serde_json::json!({ "rules": rules.len() }), now).await?;
                tx.commit().await?;
                Ok(version_id)
            }

            async fn publish_draft(
                &self,
                project: &Project,
                change_note: &str,
                author: Option<i64>,
                now: i64,
            ) -> Result<i64, StoreError> {
                let mut tx = self.begin_write().await?;
                let draft: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT v.id, v.guideline_id FROM guideline_versions v JOIN guidelines g ON g.id = v.guideline_id \
                     WHERE g.project_id = $1 AND v.published_at IS NULL",
                )
                .bind(project.id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((version_id, guideline_id)) = draft else {
                    return Err(StoreError::NotFound);
                };
                let number: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(MAX(number), 0) + 1 FROM guideline_versions WHERE guideline_id = $1",
                )
                .bind(guideline_id)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE guideline_versions SET number = $1, change_note = $2, \
                       author_id = COALESCE($3, author_id), published_at = $4 WHERE id = $5",
                )
                .bind(number)
                .bind(change_note)
                .bind(author)
                .bind(now)
                .bind(version_id)
                .execute(&mut *tx)
                .await?;
                audit(&mut tx, author, "guideline.publish", "guideline_version", version_id, &serde_json::json!({ "number": number }), now).await?;
                tx.commit().await?;
                Ok(number)
            }

            async fn guideline_version(
                &self,
                project: &Project,
                which: $crate::storage::VersionRef,
            ) -> Result<Option<$crate::storage::GuidelineVersion>, StoreError> {
                use $crate::storage::VersionRef;
                let base = "SELECT v.id, v.number, v.change_note, v.published_at FROM guideline_versions v \
                            JOIN guidelines g ON g.id = v.guideline_id WHERE g.project_id = $1";
                let query = match which {
                    VersionRef::Latest => format!("{base} AND v.published_at IS NOT NULL ORDER BY v.number DESC LIMIT 1"),
                    VersionRef::Number(_) => format!("{base} AND v.published_at IS NOT NULL AND v.number = $2"),
                    VersionRef::Draft => format!("{base} AND v.published_at IS NULL"),
                };
                let mut q = sqlx::query_as::<_, (i64, Option<i64>, String, Option<i64>)>(&query).bind(project.id);
                if let VersionRef::Number(n) = which {
                    q = q.bind(n);
                }
                let Some((id, number, change_note, published_at)) = q.fetch_optional(&self.pool).await? else {
                    return Ok(None);
                };
                Ok(Some($crate::storage::GuidelineVersion {
                    id,
                    number,
                    change_note,
                    published_at,
                    rules: rules_of(&self.pool, id).await?,
                }))
            }

            async fn guideline_versions(
                &self,
                project: &Project,
            ) -> Result<Vec<$crate::storage::VersionSummary>, StoreError> {
                let rows: Vec<(i64, String, i64, Option<String>, i64)> = sqlx::query_as(
                    "SELECT v.number, v.change_note, v.published_at, u.name, \
                       (SELECT COUNT(*) FROM rules r WHERE r.version_id = v.id) \
                     FROM guideline_versions v JOIN guidelines g ON g.id = v.guideline_id \
                     LEFT JOIN users u ON u.id = v.author_id \
                     WHERE g.project_id = $1 AND v.published_at IS NOT NULL ORDER BY v.number",
                )
                .bind(project.id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(number, change_note, published_at, author, rules)| $crate::storage::VersionSummary {
                        number,
                        change_note,
                        published_at,
                        author,
                        rules,
                    })
                    .collect())
            }

            async fn cited_judgments(
                &self,
                project: &Project,
                before: i64,
            ) -> Result<Vec<$crate::storage::CitedJudgment>, StoreError> {
                // The current judgment: no later revision by the same annotator.
                let rows: Vec<(i64, i64, i64, i64, String)> = sqlx::query_as(
                    "SELECT j.id, j.pair_id, v.id, v.number, j.rules_cited FROM judgments j \
                     JOIN pairs p ON p.id = j.pair_id \
                     JOIN guideline_versions v ON v.id = j.guideline_version_id \
                     WHERE p.project_id = $1 AND v.published_at IS NOT NULL AND v.number < $2 \
                       AND j.rules_cited <> '[]' \
                       AND NOT EXISTS (SELECT 1 FROM judgments k WHERE k.pair_id = j.pair_id \
                                       AND k.user_id = j.user_id AND k.revision > j.revision) \
                     ORDER BY j.id",
                )
                .bind(project.id)
                .bind(before)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(judgment_id, pair_id, version_id, version_number, cited)| {
                        let rules = cited_rules(&cited)?;
                        Ok($crate::storage::CitedJudgment {
                            judgment_id,
                            pair_id,
                            version_id,
                            version_number,
                            rules: rules.into_iter().map(|r| r.id).collect(),
                        })
                    })
                    .collect()
            }

            async fn send_rereviews(
                &self,
                project: &Project,
                to_version_id: i64,
                rows: &[(i64, i64, String, i64)],
                actor: Option<i64>,
                now: i64,
            ) -> Result<u64, StoreError> {
                let mut tx = self.begin_write().await?;
                let mut sent = 0;
                for (pair_id, judgment_id, rule, from_version_id) in rows {
                    sent += sqlx::query(
                        "INSERT INTO rereviews (pair_id, judgment_id, rule_key, from_version_id, to_version_id, created_at) \
                         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS \
                           (SELECT 1 FROM pairs WHERE id = $1 AND project_id = $7) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(pair_id)
                    .bind(judgment_id)
                    .bind(rule)
                    .bind(from_version_id)
                    .bind(to_version_id)
                    .bind(now)
                    .bind(project.id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                audit(&mut tx, actor, "guideline.rereview", "guideline_version", to_version_id, &serde_json::json!({ "sent": sent }), now).await?;
                tx.commit().await?;
                Ok(sent)
            }

            async fn open_rereviews(
                &self,
                project: &Project,
                pair_id: Option<i64>,
            ) -> Result<Vec<$crate::storage::OpenRereview>, StoreError> {
                let rows: Vec<(i64, i64, String, Option<String>, String, i64, i64)> = sqlx::query_as(
                    "SELECT r.pair_id, r.judgment_id, u.name, j.label, r.rule_key, f.number, t.number \
                     FROM rereviews r JOIN pairs p ON p.id = r.pair_id \
                     JOIN judgments j ON j.id = r.judgment_id JOIN users u ON u.id = j.user_id \
                     JOIN guideline_versions f ON f.id = r.from_version_id \
                     JOIN guideline_versions t ON t.id = r.to_version_id \
                     WHERE p.project_id = $1 AND r.resolved_at IS NULL AND ($2 IS NULL OR r.pair_id = $2) \
                     ORDER BY r.pair_id, r.id",
                )
                .bind(project.id)
                .bind(pair_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(pair_id, judgment_id, annotator, label, rule, from_version, to_version)| {
                        $crate::storage::OpenRereview { pair_id, judgment_id, annotator, label, rule, from_version, to_version }
                    })
                    .collect())
            }

            #[allow(
                clippy::too_many_arguments,
                reason = "one decision's fields, each a plain value the caller has at hand"
            )]
            async fn resolve_rereviews(
                &self,
                project: &Project,
                pair_id: i64,
                reviewer_id: i64,
                label: &str,
                note: &str,
                version_id: i64,
                now: i64,
            ) -> Result<i64, StoreError> {
                let mut tx = self.begin_write().await?;
                let lock = format!("SELECT judgment_count FROM pairs WHERE id = $1 AND project_id = $2{ROW_LOCK}");
                let found: Option<i64> = sqlx::query_scalar(&lock)
                    .bind(pair_id)
                    .bind(project.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let open: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM rereviews WHERE pair_id = $1 AND resolved_at IS NULL",
                )
                .bind(pair_id)
                .fetch_one(&mut *tx)
                .await?;
                if found.is_none() || open == 0 {
                    return Err(StoreError::NotFound);
                }
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(revision) FROM judgments WHERE pair_id = $1 AND user_id = $2",
                )
                .bind(pair_id)
                .bind(reviewer_id)
                .fetch_one(&mut *tx)
                .await?;
                let revision = last.unwrap_or(0) + 1;
                let judgment_id: i64 = sqlx::query_scalar(
                    "INSERT INTO judgments (pair_id, user_id, revision, label, rules_cited, rationale, \
                       guideline_version_id, idempotency_key, created_at) \
                     VALUES ($1, $2, $3, $4, '[]', $5, $6, $7, $8) RETURNING id",
                )
                .bind(pair_id)
                .bind(reviewer_id)
                .bind(revision)
                .bind(label)
                .bind(note)
                .bind(version_id)
                .bind(format!("rereview:{pair_id}:{reviewer_id}:{revision}"))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                // The decision under the new rule is also the pair's final label: the
                // judgments made under the old rule no longer decide it.
                insert_decision(&mut tx, pair_id, reviewer_id, label, note, now).await?;
                sqlx::query(
                    "UPDATE rereviews SET resolved_at = $1, resolved_by = $2, resolution_id = $3 \
                     WHERE pair_id = $4 AND resolved_at IS NULL",
                )
                .bind(now)
                .bind(reviewer_id)
                .bind(judgment_id)
                .bind(pair_id)
                .execute(&mut *tx)
                .await?;
                audit(&mut tx, Some(reviewer_id), "pair.rereview", "pair", pair_id, &serde_json::json!({
                    "label": label,
                    "note": note,
                    "judgment_id": judgment_id,
                }), now).await?;
                tx.commit().await?;
                Ok(judgment_id)
            }

            async fn search_pairs(
                &self,
                project: &Project,
                text: &str,
                limit: i64,
            ) -> Result<Vec<$crate::storage::rows::PairHit>, StoreError> {
                // The text is matched literally: LIKE's wildcards in it are escaped.
                let escaped: String = text
                    .to_lowercase()
                    .chars()
                    .flat_map(|c| match c {
                        '%' | '_' | '\\' => vec!['\\', c],
                        c => vec![c],
                    })
                    .collect();
                Ok(sqlx::query_as(
                    "SELECT p.id AS pair_id, q.text AS query, i.title AS item_title FROM pairs p \
                     JOIN queries q ON q.id = p.query_id JOIN items i ON i.id = p.item_id \
                     WHERE p.project_id = $1 \
                       AND (LOWER(q.text) LIKE $2 ESCAPE '\\' OR LOWER(i.title) LIKE $2 ESCAPE '\\') \
                     ORDER BY p.id LIMIT $3",
                )
                .bind(project.id)
                .bind(format!("%{escaped}%"))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn readiness(&self) -> Result<(), String> {
                let applied: Vec<i64> = sqlx::query_scalar(
                    "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(|e| format!("the database does not answer: {e}"))?;
                let missing: Vec<String> = MIGRATOR
                    .iter()
                    .filter(|m| !applied.contains(&m.version))
                    .map(|m| format!("{} {}", m.version, m.description))
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("migrations not applied: {}", missing.join(", ")))
                }
            }

            async fn refresh_statistics(&self) -> Result<(), StoreError> {
                sqlx::query("ANALYZE").execute(&self.pool).await?;
                Ok(())
            }

            async fn set_password_hash(&self, user_id: i64, password_hash: &str, now: i64) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3",
                )
                .bind(password_hash)
                .bind(now)
                .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn count_login_attempt(
                &self,
                key: &str,
                window_start: i64,
            ) -> Result<$crate::storage::rows::LoginAttempts, StoreError> {
                let current: i64 = sqlx::query_scalar(
                    "INSERT INTO login_attempts (key, window_start, attempts) VALUES ($1, $2, 1) \
                     ON CONFLICT (key, window_start) \
                     DO UPDATE SET attempts = login_attempts.attempts + 1 RETURNING attempts",
                )
                .bind(key)
                .bind(window_start)
                .fetch_one(&self.pool)
                .await?;
                if current == 1 {
                    sqlx::query("DELETE FROM login_attempts WHERE window_start < $1")
                        .bind(window_start - 60_000)
                        .execute(&self.pool)
                        .await?;
                }
                let previous: Option<i64> = sqlx::query_scalar(
                    "SELECT attempts FROM login_attempts WHERE key = $1 AND window_start = $2",
                )
                .bind(key)
                .bind(window_start - 60_000)
                .fetch_optional(&self.pool)
                .await?;
                Ok($crate::storage::rows::LoginAttempts { current, previous: previous.unwrap_or(0) })
            }

            async fn queue_invariants(
                &self,
                project: &Project,
            ) -> Result<$crate::storage::QueueInvariants, StoreError> {
                // One pass over the project's judgments, grouped by pair.
                let (over_k, count_drift): (i64, i64) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(CASE WHEN annotators > $2 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                       CAST(COALESCE(SUM(CASE WHEN annotators <> counted THEN 1 ELSE 0 END), 0) AS BIGINT) \
                     FROM (SELECT COUNT(DISTINCT j.user_id) AS annotators, MAX(p.judgment_count) AS counted \
                       FROM judgments j JOIN pairs p ON p.id = j.pair_id \
                       WHERE p.project_id = $1 AND j.idempotency_key NOT LIKE 'rereview:%' \
                       GROUP BY j.pair_id) t",
                )
                .bind(project.id)
                .bind(project.overlap_k)
                .fetch_one(&self.pool)
                .await?;
                let duplicates: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM judgments j JOIN pairs p ON p.id = j.pair_id \
                       WHERE p.project_id = $1 GROUP BY j.pair_id, j.user_id, j.revision \
                       HAVING COUNT(*) > 1) t",
                )
                .bind(project.id)
                .fetch_one(&self.pool)
                .await?;
                Ok($crate::storage::QueueInvariants { over_k, count_drift, duplicates })
            }

            async fn judgments_by_key(&self, keys: &[String]) -> Result<Vec<(String, i64)>, StoreError> {
                let mut found = Vec::with_capacity(keys.len());
                for chunk in keys.chunks(rows_per_statement(1).min(5_000)) {
                    let mut query = QueryBuilder::new(
                        "SELECT idempotency_key, id FROM judgments WHERE idempotency_key IN (",
                    );
                    let mut list = query.separated(", ");
                    for key in chunk {
                        list.push_bind(key.as_str());
                    }
                    query.push(")");
                    let rows: Vec<(String, i64)> =
                        query.build_query_as().fetch_all(&self.pool).await?;
                    found.extend(rows);
                }
                Ok(found)
            }

            async fn gauges(&self) -> Result<$crate::storage::Gauges, StoreError> {
                let depth = format!(
                    "SELECT pr.slug, q.band, {COMPLETE_PAIRS}, COUNT(*) \
                     FROM pairs p JOIN queries q ON q.id = p.query_id \
                     JOIN projects pr ON pr.id = p.project_id \
                     GROUP BY pr.slug, q.band ORDER BY pr.slug, q.band"
                );
                let queue = sqlx::query_as(&depth).fetch_all(&self.pool).await?;
                let scorer_runs = sqlx::query_as(
                    "SELECT pr.slug, COUNT(r.id), MAX(r.created_at) \
                     FROM projects pr LEFT JOIN scorer_runs r ON r.project_id = pr.id \
                     GROUP BY pr.slug ORDER BY pr.slug",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok($crate::storage::Gauges { queue, scorer_runs })
            }

            async fn close(&self) {
                self.pool.close().await;
            }
        }

        /// An import transaction on this backend.
        struct ImportTx {
            tx: Transaction<'static, $db>,
            project_id: i64,
            source: String,
            /// When the import began: the time every row it adds is stamped with.
            now: i64,
            /// Query text to (id, stored frequency), for the project's queries so far.
            queries: HashMap<String, (i64, Option<i64>)>,
            /// Item external id to id.
            items: HashMap<String, i64>,
            counts: ImportCounts,
        }

        impl ImportTx {
            async fn add_queries(&mut self, batch: &[PairRecord]) -> Result<(), StoreError> {
                // New queries in first-seen order, each with the first frequency any line gives.
                let mut new: Vec<(&str, Option<i64>)> = Vec::new();
                let mut position: HashMap<&str, usize> = HashMap::new();
                for record in batch {
                    match self.queries.get(&record.query) {
                        Some(&(id, stored)) => {
                            if record.query_frequency.is_some() && record.query_frequency != stored {
                                sqlx::query("UPDATE queries SET frequency = $1 WHERE id = $2")
                                    .bind(record.query_frequency)
                                    .bind(id)
                                    .execute(&mut *self.tx)
                                    .await?;
                                self.queries.insert(record.query.clone(), (id, record.query_frequency));
                            }
                        }
                        None => match position.get(record.query.as_str()) {
                            Some(&i) => {
                                if new[i].1.is_none() {
                                    new[i].1 = record.query_frequency;
                                }
                            }
                            None => {
                                position.insert(record.query.as_str(), new.len());
                                new.push((record.query.as_str(), record.query_frequency));
                            }
                        },
                    }
                }
                for chunk in new.chunks(rows_per_statement(3)) {
                    let mut qb: QueryBuilder<$db> =
                        QueryBuilder::new("INSERT INTO queries (project_id, text, frequency) ");
                    qb.push_values(chunk, |mut b, (text, frequency)| {
                        b.push_bind(self.project_id)
                            .push_bind(*text)
                            .push_bind(*frequency);
                    });
                    qb.push(" RETURNING id, text, frequency");
                    let rows: Vec<(i64, String, Option<i64>)> =
                        qb.build_query_as().fetch_all(&mut *self.tx).await?;
                    self.counts.queries_added += rows.len() as u64;
                    for (id, text, frequency) in rows {
                        self.queries.insert(text, (id, frequency));
                    }
                }
                Ok(())
            }

            async fn add_items(&mut self, batch: &[PairRecord]) -> Result<(), StoreError> {
                let mut seen: std::collections::HashSet<&str> = Default::default();
                let new: Vec<&PairRecord> = batch
                    .iter()
                    .filter(|r| !self.items.contains_key(&r.item.id) && seen.insert(r.item.id.as_str()))
                    .collect();
                for chunk in new.chunks(rows_per_statement(8)) {
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                        "INSERT INTO items (project_id, external_id, title, category, attributes, \
                         price, images, description) ",
                    );
                    qb.push_values(chunk, |mut b, r| {
                        let item = &r.item;
                        b.push_bind(self.project_id)
                            .push_bind(item.id.as_str())
                            .push_bind(item.title.as_str())
                            .push_bind(json_text(&item.category))
                            .push_bind(json_text(&item.attributes))
                            .push_bind(item.price)
                            .push_bind(json_text(&item.images))
                            .push_bind(item.description.as_deref());
                    });
                    qb.push(" RETURNING id, external_id");
                    let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut *self.tx).await?;
                    self.counts.items_added += rows.len() as u64;
                    for (id, external_id) in rows {
                        self.items.insert(external_id, id);
                    }
                }
                Ok(())
            }

            /// Inserts the batch's pairs; returns the new pairs' ids with their records.
            /// Inserts the batch's new pairs; the new pairs with their ids, what stored
            /// pairs gain (see [`Self::reconcile`]), and the indexes of records whose
            /// pair is stored already with other content.
            async fn add_pairs<'a>(
                &mut self,
                batch: &'a [PairRecord],
            ) -> Result<(Vec<(i64, &'a PairRecord)>, Vec<(i64, PairRecord)>, Vec<usize>), StoreError> {
                let mut keyed: Vec<((i64, i64), &PairRecord)> = Vec::with_capacity(batch.len());
                for record in batch {
                    let query_id = self.queries.get(&record.query).map(|q| q.0);
                    let item_id = self.items.get(&record.item.id).copied();
                    let (Some(query_id), Some(item_id)) = (query_id, item_id) else {
                        return Err(StoreError::Corrupt(format!(
                            "import lost track of query {:?} or item {:?}",
                            record.query, record.item.id
                        )));
                    };
                    keyed.push(((query_id, item_id), record));
                }
                let now = self.now;
                let mut inserted: HashMap<(i64, i64), i64> = HashMap::with_capacity(batch.len());
                for chunk in keyed.chunks(rows_per_statement(6)) {
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                        "INSERT INTO pairs (project_id, query_id, item_id, task, shuffle_key, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, ((query_id, item_id), record)| {
                        b.push_bind(self.project_id)
                            .push_bind(*query_id)
                            .push_bind(*item_id)
                            .push_bind(record.task.map(TaskKind::as_str))
                            .push_bind(shuffle_key(self.project_id, *query_id, *item_id))
                            .push_bind(now);
                    });
                    qb.push(" ON CONFLICT (project_id, query_id, item_id) DO NOTHING RETURNING id, query_id, item_id");
                    let rows: Vec<(i64, i64, i64)> = qb.build_query_as().fetch_all(&mut *self.tx).await?;
                    for (id, query_id, item_id) in rows {
                        inserted.insert((query_id, item_id), id);
                    }
                }
                let existing: Vec<(usize, (i64, i64), &PairRecord)> = keyed
                    .iter()
                    .enumerate()
                    .filter(|(_, (key, _))| !inserted.contains_key(key))
                    .map(|(i, (key, record))| (i, *key, *record))
                    .collect();
                let (fill, changed) = self.reconcile(&existing).await?;
                let new: Vec<(i64, &PairRecord)> = keyed
                    .into_iter()
                    .filter_map(|(key, record)| inserted.remove(&key).map(|id| (id, record)))
                    .collect();
                self.counts.pairs_added += new.len() as u64;
                self.counts.pairs_existing += (batch.len() - new.len()) as u64;
                Ok((new, fill, changed))
            }

            /// Compares records with the pairs already stored for them. A record may fill
            /// in what a pair lacks (candidates, a gold label, a task: an earlier CSV
            /// import has no candidates); those additions are returned as records holding
            /// only what is new. A record that says something else than what is stored
            /// is a conflict (its index is returned): judgments and rankings refer to the
            /// stored candidates, so a re-import must not silently disagree with them.
            async fn reconcile(
                &mut self,
                existing: &[(usize, (i64, i64), &PairRecord)],
            ) -> Result<(Vec<(i64, PairRecord)>, Vec<usize>), StoreError> {
                let mut fill = Vec::new();
                type Stored = (Option<String>, Option<String>, Vec<(String, String, Vec<String>, Option<String>)>);
                let mut changed = Vec::new();
                for chunk in existing.chunks(rows_per_statement(2)) {
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                        "SELECT p.id, p.query_id, p.item_id, p.task, g.label FROM pairs p \
                         LEFT JOIN gold_answers g ON g.pair_id = p.id WHERE p.project_id = ",
                    );
                    qb.push_bind(self.project_id)
                        .push(" AND (p.query_id, p.item_id) IN (");
                    qb.push_values(chunk, |mut b, (_, (query_id, item_id), _)| {
                        b.push_bind(*query_id).push_bind(*item_id);
                    });
                    qb.push(")");
                    let rows: Vec<(i64, i64, i64, Option<String>, Option<String>)> =
                        qb.build_query_as().fetch_all(&mut *self.tx).await?;
                    let mut stored: HashMap<(i64, i64), (i64, Stored)> = rows
                        .into_iter()
                        .map(|(id, q, i, task, gold)| ((q, i), (id, (task, gold, Vec::new()))))
                        .collect();
                    let by_id: HashMap<i64, (i64, i64)> =
                        stored.iter().map(|(key, (id, _))| (*id, *key)).collect();
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                        "SELECT pair_id, model, text, steps, label FROM cot_candidates WHERE pair_id IN (",
                    );
                    let mut ids = qb.separated(", ");
                    for id in by_id.keys() {
                        ids.push_bind(*id);
                    }
                    qb.push(") ORDER BY pair_id, position");
                    if !by_id.is_empty() {
                        let candidates: Vec<(i64, String, String, String, Option<String>)> =
                            qb.build_query_as().fetch_all(&mut *self.tx).await?;
                        for (pair_id, model, text, steps, label) in candidates {
                            let steps: Vec<String> = serde_json::from_str(&steps)
                                .map_err(|e| StoreError::Corrupt(format!("cot_candidates.steps: {e}")))?;
                            if let Some(entry) = by_id.get(&pair_id).and_then(|key| stored.get_mut(key)) {
                                entry.1.2.push((model, text, steps, label));
                            }
                        }
                    }
                    for (index, key, record) in chunk {
                        let Some((id, (task, gold, cot))) = stored.get(key) else {
                            continue;
                        };
                        // What the record leaves out says nothing; what it gives must match.
                        let same_cot = record.cot.is_empty()
                            || cot.is_empty()
                            || (cot.len() == record.cot.len()
                                && cot.iter().zip(&record.cot).all(|((model, text, steps, label), c)| {
                                    *model == c.model && *text == c.text && *steps == c.steps && *label == c.label
                                }));
                        let same_gold = record.gold_label.is_none() || gold.is_none() || *gold == record.gold_label;
                        let record_task = record.task.map(TaskKind::as_str);
                        let same_task = record_task.is_none() || task.is_none() || task.as_deref() == record_task;
                        if !(same_cot && same_gold && same_task) {
                            changed.push(*index);
                            continue;
                        }
                        let addition = PairRecord {
                            cot: if cot.is_empty() { record.cot.clone() } else { Vec::new() },
                            gold_label: if gold.is_none() { record.gold_label.clone() } else { None },
                            task: if task.is_none() { record.task } else { None },
                            tags: Vec::new(),
                            ..(*record).clone()
                        };
                        if !addition.cot.is_empty() || addition.gold_label.is_some() || addition.task.is_some() {
                            fill.push((*id, addition));
                        }
                    }
                }
                Ok((fill, changed))
            }

            async fn add_pair_details(&mut self, new: &[(i64, &PairRecord)]) -> Result<(), StoreError> {
                let candidates: Vec<(i64, usize, &$crate::domain::CotRecord)> = new
                    .iter()
                    .flat_map(|(id, r)| r.cot.iter().enumerate().map(move |(pos, c)| (*id, pos, c)))
                    .collect();
                for chunk in candidates.chunks(rows_per_statement(6)) {
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                        "INSERT INTO cot_candidates (pair_id, position, model, text, steps, label) ",
                    );
                    qb.push_values(chunk, |mut b, (pair_id, position, c)| {
                        b.push_bind(*pair_id)
                            .push_bind(i64::try_from(*position).unwrap_or(i64::MAX))
                            .push_bind(c.model.as_str())
                            .push_bind(c.text.as_str())
                            .push_bind(json_text(&c.steps))
                            .push_bind(c.label.as_deref());
                    });
                    qb.build().execute(&mut *self.tx).await?;
                }
                self.counts.cot_added += candidates.len() as u64;

                let gold: Vec<(i64, &str)> = new
                    .iter()
                    .filter_map(|(id, r)| r.gold_label.as_deref().map(|g| (*id, g)))
                    .collect();
                let now = self.now;
                for chunk in gold.chunks(rows_per_statement(3)) {
                    let mut qb: QueryBuilder<$db> =
                        QueryBuilder::new("INSERT INTO gold_answers (pair_id, label, created_at) ");
                    qb.push_values(chunk, |mut b, (pair_id, label)| {
                        b.push_bind(*pair_id).push_bind(*label).push_bind(now);
                    });
                    qb.build().execute(&mut *self.tx).await?;
                }
                self.counts.gold_added += gold.len() as u64;

                let tags: Vec<(i64, &str)> = new
                    .iter()
                    .flat_map(|(id, r)| r.tags.iter().map(move |t| (*id, t.as_str())))
                    .collect();
                for chunk in tags.chunks(rows_per_statement(2)) {
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO pair_tags (pair_id, tag) ");
                    qb.push_values(chunk, |mut b, (pair_id, tag)| {
                        b.push_bind(*pair_id).push_bind(*tag);
                    });
                    qb.build().execute(&mut *self.tx).await?;
                }
                Ok(())
            }

            /// Recomputes every query's band and writes the ones that changed.
            async fn recompute_bands(&mut self) -> Result<(), StoreError> {
                let rows: Vec<(i64, Option<i64>, String)> =
                    sqlx::query_as("SELECT id, frequency, band FROM queries WHERE project_id = $1")
                        .bind(self.project_id)
                        .fetch_all(&mut *self.tx)
                        .await?;
                let frequencies: Vec<Option<i64>> = rows.iter().map(|r| r.1).collect();
                let bands = assign_bands(&frequencies, BandCuts::default());
                for band in FrequencyBand::ALL {
                    let changed: Vec<i64> = rows
                        .iter()
                        .zip(&bands)
                        .filter(|(row, b)| **b == band && row.2 != band.as_str())
                        .map(|(row, _)| row.0)
                        .collect();
                    for chunk in changed.chunks(rows_per_statement(1)) {
                        let mut qb: QueryBuilder<$db> = QueryBuilder::new("UPDATE queries SET band = ");
                        qb.push_bind(band.as_str()).push(" WHERE id IN (");
                        let mut ids = qb.separated(", ");
                        for id in chunk {
                            ids.push_bind(*id);
                        }
                        qb.push(")");
                        qb.build().execute(&mut *self.tx).await?;
                    }
                }
                Ok(())
            }
        }

        #[async_trait]
        impl ImportSink for ImportTx {
            async fn add(&mut self, batch: &[PairRecord]) -> Result<Vec<usize>, StoreError> {
                self.add_queries(batch).await?;
                self.add_items(batch).await?;
                let (new, fill, changed) = self.add_pairs(batch).await?;
                self.add_pair_details(&new).await?;
                if !fill.is_empty() {
                    for (id, record) in &fill {
                        if let Some(task) = record.task {
                            sqlx::query("UPDATE pairs SET task = $1 WHERE id = $2")
                                .bind(task.as_str())
                                .bind(*id)
                                .execute(&mut *self.tx)
                                .await?;
                        }
                    }
                    let fill: Vec<(i64, &PairRecord)> = fill.iter().map(|(id, r)| (*id, r)).collect();
                    self.add_pair_details(&fill).await?;
                }
                Ok(changed)
            }

            async fn commit(mut self: Box<Self>) -> Result<ImportCounts, StoreError> {
                self.recompute_bands().await?;
                let detail = serde_json::json!({ "source": self.source, "counts": self.counts });
                audit(&mut self.tx, None, "pairs.import", "project", self.project_id, &detail, self.now).await?;
                let ImportTx { tx, counts, .. } = *self;
                tx.commit().await?;
                Ok(counts)
            }
        }
    };
}
