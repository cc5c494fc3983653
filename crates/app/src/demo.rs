//! Demo data for `taquilla serve --demo`: a tenant with fixed credentials, a
//! 2,500-place concert hall (numbered Platea and Balcón with rows of different
//! lengths, a general-admission Pista of 500), an event on sale and a sample
//! BCV rate for today. Created once; a restart keeps the data.

use chrono::{Duration, NaiveTime, TimeZone};
use chrono_tz::America::Caracas;
use taquilla_domain::fiscal::caracas_date;
use taquilla_domain::money::ExchangeRate;
use taquilla_store::model::{
    NewEvent, NewExchangeRate, NewTenant, NewUser, NewVenue, NewZone, Role, ZoneKind,
};
use uuid::Uuid;

use crate::state::AppState;
use crate::tickets::new_signing_key;

pub const DEMO_TENANT_SLUG: &str = "demo";
/// Demo credentials: (username, password, role). For demo mode only.
pub const DEMO_USERS: &[(&str, &str, Role)] = &[
    ("demo-admin", "demo-admin-2026", Role::TenantAdmin),
    ("demo-cajero", "demo-cajero-2026", Role::Cashier),
    ("demo-porteria", "demo-porteria-2026", Role::Validator),
];
/// Sample rate (Bs. per USD) entered for today when no rate exists; not a published BCV figure.
pub const DEMO_RATE: &str = "301.37450000";

/// Seat counts per row: Platea 25 rows of 48 to 56 seats (1,300), Balcón 14
/// rows of 44 to 56 seats (700).
pub fn platea_rows() -> Vec<i64> {
    (0..25).map(|row| 48 + 2 * (row / 5)).collect()
}

pub fn balcon_rows() -> Vec<i64> {
    (0..14).map(|row| 44 + 2 * (row / 2)).collect()
}

/// Ids of the demo data, for the start-up message.
pub struct DemoInfo {
    pub tenant_id: Uuid,
    pub event_id: Uuid,
    pub created: bool,
}

/// Creates the demo data unless the demo tenant exists; adds today's sample
/// rate when the tenant has none for today.
pub async fn seed(state: &AppState) -> anyhow::Result<DemoInfo> {
    let store = &state.store;
    if let Some(tenant) = store.get_tenant_by_slug(DEMO_TENANT_SLUG).await? {
        let events = store
            .list_events(
                tenant.id,
                taquilla_store::model::PageRequest {
                    limit: 1,
                    after: None,
                },
            )
            .await?;
        ensure_rate(state, tenant.id).await?;
        return Ok(DemoInfo {
            tenant_id: tenant.id,
            event_id: events
                .items
                .first()
                .map(|event| event.id)
                .unwrap_or_default(),
            created: false,
        });
    }

    let tenant = store
        .create_tenant(NewTenant {
            slug: DEMO_TENANT_SLUG.to_string(),
            name: "Producciones Demo, C.A.".to_string(),
            rif: "J-12345678-4".to_string(),
            fiscal_address: "Av. Paseo Colón, Los Caobos, Caracas 1050".to_string(),
            signing_key: new_signing_key(),
        })
        .await?;
    for (username, password, role) in DEMO_USERS {
        let password_hash = state.passwords.hash(password.to_string()).await?;
        store
            .create_user(NewUser {
                tenant_id: Some(tenant.id),
                username: username.to_string(),
                email: format!("{username}@demo.invalid"),
                password_hash,
                role: *role,
            })
            .await?;
    }

    let venue = store
        .create_venue(
            tenant.id,
            NewVenue {
                name: "Sala de Conciertos Demo".to_string(),
                address: "Av. Paseo Colón, Los Caobos".to_string(),
                city: "Caracas".to_string(),
            },
        )
        .await?;
    let now = state.clock.now();
    let concert_day = caracas_date(now) + Duration::days(30);
    let starts_at = Caracas
        .from_local_datetime(
            &concert_day.and_time(NaiveTime::from_hms_opt(20, 0, 0).expect("valid time")),
        )
        .single()
        .expect("Caracas has no daylight saving time")
        .with_timezone(&chrono::Utc);
    let event = store
        .create_event(
            tenant.id,
            NewEvent {
                venue_id: venue.id,
                name: "Concierto de Gala".to_string(),
                description: "Evento de demostración".to_string(),
                starts_at,
                sale_starts_at: Some(now - Duration::days(1)),
                sale_ends_at: Some(starts_at),
                hold_minutes: 15,
                payment_minutes: 15,
            },
        )
        .await?;
    for (name, kind, price) in [
        (
            "Platea",
            ZoneKind::Numbered {
                rows: platea_rows(),
            },
            4_500,
        ),
        (
            "Balcón",
            ZoneKind::Numbered {
                rows: balcon_rows(),
            },
            2_500,
        ),
        ("Pista", ZoneKind::GeneralAdmission { capacity: 500 }, 1_500),
    ] {
        store
            .create_zone(
                tenant.id,
                NewZone {
                    event_id: event.id,
                    name: name.to_string(),
                    kind,
                    price_usd_cents: price,
                    entries_per_ticket: 1,
                },
            )
            .await?;
    }
    store
        .set_event_status(tenant.id, event.id, &["draft"], "active")
        .await?;
    ensure_rate(state, tenant.id).await?;
    Ok(DemoInfo {
        tenant_id: tenant.id,
        event_id: event.id,
        created: true,
    })
}

async fn ensure_rate(state: &AppState, tenant_id: Uuid) -> anyhow::Result<()> {
    let today = caracas_date(state.clock.now());
    let mut page = taquilla_store::model::PageRequest {
        limit: 200,
        after: None,
    };
    loop {
        let rates = state.store.list_exchange_rates(tenant_id, page).await?;
        if rates.items.iter().any(|rate| rate.effective_date == today) {
            return Ok(());
        }
        match rates
            .next_cursor
            .and_then(|cursor| Uuid::parse_str(&cursor).ok())
        {
            Some(after) => page.after = Some(after),
            None => break,
        }
    }
    let rate = ExchangeRate::parse(DEMO_RATE)?;
    state
        .store
        .create_exchange_rate(
            tenant_id,
            Uuid::nil(),
            NewExchangeRate {
                rate_scaled: rate.scaled(),
                effective_date: today,
                source: "manual".to_string(),
            },
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hall_has_2000_numbered_seats_in_uneven_rows() {
        let platea: i64 = platea_rows().iter().sum();
        let balcon: i64 = balcon_rows().iter().sum();
        assert_eq!(platea, 1_300);
        assert_eq!(balcon, 700);
        assert_eq!(platea + balcon + 500, 2_500);
        assert_ne!(platea_rows().first(), platea_rows().last());
    }
}
