//! Who sees which case: the roster decides. The DPO and the coordinators of
//! any route, and admin accounts, see every case; an official or deputy sees
//! the cases whose stored route names them (their committee's cases).

use crate::config::Config;
use crate::core::auth::{roster_role, Role};
use crate::core::routing::Route;

use super::WebConfig;

/// What a signed-in address may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every case, the register and (DPO, admin) the quarantine.
    All { quarantine: bool },
    /// Only cases whose route names this address as official or deputy.
    Roster,
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

pub fn scope(cfg: &Config, web: &WebConfig, address: &str) -> Scope {
    let admin = web
        .accounts
        .iter()
        .any(|a| a.admin && same(&a.address, address));
    let routes =
        std::iter::once(&cfg.routing.default).chain(cfg.routing.rules.iter().map(|r| &r.route));
    let mut dpo = false;
    let mut coordinator = false;
    for r in routes {
        dpo |= same(&r.dpo.address, address);
        coordinator |= r
            .coordinator
            .as_ref()
            .is_some_and(|c| same(&c.address, address));
    }
    if admin || dpo {
        Scope::All { quarantine: true }
    } else if coordinator {
        Scope::All { quarantine: false }
    } else {
        Scope::Roster
    }
}

/// May this address see (and act on) a case with this stored route?
pub fn may_see(scope: &Scope, route: Option<&Route>, address: &str) -> bool {
    match scope {
        Scope::All { .. } => true,
        Scope::Roster => route.is_some_and(|r| {
            matches!(
                roster_role(r, address),
                Some(Role::Official | Role::Deputy | Role::Dpo | Role::Coordinator)
            )
        }),
    }
}

/// An admin account (`[[web.accounts]]` with `admin = true`): every case, the
/// quarantine, the configuration view and the `rules test` page.
pub fn is_admin(web: &WebConfig, address: &str) -> bool {
    web.accounts
        .iter()
        .any(|a| a.admin && same(&a.address, address))
}
