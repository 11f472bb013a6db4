//! Where a finding points in access.yaml: the written statement a normalized one came from,
//! the `trust.accounts` item, the cluster `access` item; else the nearest enclosing node.

use super::Linter;
use crate::model::policy::matching;
use crate::spec::SourceLocation;

impl Linter<'_> {
    pub(super) fn at(&self, path: &str) -> Option<&SourceLocation> {
        self.locations.get(path)
    }

    /// The first of `paths` the file has.
    pub(super) fn first_at(&self, paths: &[String]) -> Option<SourceLocation> {
        paths.iter().find_map(|path| self.at(path).cloned())
    }

    /// The statement of the file that a normalized statement came from; else the document.
    pub(super) fn statement_at(
        &self,
        document_paths: &[String],
        source: &[String],
    ) -> Option<SourceLocation> {
        let written = source.join(".");
        document_paths
            .iter()
            .find_map(|document| self.at(&format!("{document}.{written}")).cloned())
            .or_else(|| self.first_at(document_paths))
    }

    /// `trust.accounts: [...]` item naming `account`, when the trust was written as sugar.
    pub(super) fn sugar_account(&self, role: &str, account: &str) -> Option<SourceLocation> {
        let base = format!("iam.roles.{role}.trust.accounts");
        (0..)
            .map(|index| self.at(&format!("{base}.{index}")))
            .take_while(Option::is_some)
            .flatten()
            .find(|at| at.scalar.as_deref() == Some(account))
            .cloned()
    }

    /// The `access` item of a cluster that names `arn`.
    pub(super) fn access_item(&self, cluster: &str, arn: &str) -> Option<SourceLocation> {
        let base = format!("clusters.{cluster}.access");
        for index in 0.. {
            let item = format!("{base}.{index}");
            self.at(&item)?;
            for key in ["user", "role", "arn", "account"] {
                let Some(value) = self
                    .at(&format!("{item}.{key}"))
                    .and_then(|at| at.scalar.as_deref())
                else {
                    continue;
                };
                let named = value == arn
                    || matching::same_principal(value, arn)
                    || (!value.contains(':') && crate::model::arn::short_name(arn) == value);
                if named {
                    return self.at(&item).cloned();
                }
            }
        }
        None
    }
}
