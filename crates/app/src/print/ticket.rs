//! The printed form of a ticket (entrada).

use chrono::{DateTime, Utc};

use super::format;
use super::{Block, TextStyle, row, styled};

/// The place a ticket admits its holder to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketPlace {
    Seat { row: String, number: i64 },
    GeneralAdmission,
}

/// The price of one ticket: its order line's unit price before taxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPrice {
    pub unit_usd_cents: i64,
    /// IVA rate of a taxed line, in basis points.
    pub tax_basis_points: Option<i64>,
    pub exempt: bool,
    pub courtesy: bool,
}

/// Everything a printed ticket shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPrint {
    /// The productora selling the ticket (the tenant).
    pub organizer: String,
    pub event_name: String,
    pub venue_name: String,
    /// Street address and city of the venue.
    pub venue_address: String,
    pub starts_at: DateTime<Utc>,
    pub zone_name: String,
    pub place: TicketPlace,
    /// Absent when no order line matches the ticket.
    pub price: Option<TicketPrice>,
    pub code: String,
    /// Signed payload for the QR code, as the gate validates it.
    pub qr_payload: String,
    /// Admissions the ticket allows.
    pub max_uses: i64,
    pub cancelled: bool,
    /// The invoice of the sale, as in `FACTURA Serie A N° 00000001`.
    pub invoice: Option<String>,
    /// Position of the ticket in its order, from 1, and the order's ticket count.
    pub position: (usize, usize),
}

impl TicketPrint {
    /// Lays the ticket out as blocks, in print order.
    pub fn blocks(&self) -> Vec<Block> {
        let mut blocks = vec![
            styled(&self.organizer, TextStyle::Centered),
            Block::Title(self.event_name.clone()),
            styled(&self.venue_name, TextStyle::CenteredBold),
        ];
        if !self.venue_address.trim().is_empty() {
            blocks.push(styled(&self.venue_address, TextStyle::Centered));
        }

        blocks.push(Block::Separator);
        blocks.push(row("Fecha", format::caracas_date_time(self.starts_at)));
        blocks.push(row("Zona", &self.zone_name));
        match &self.place {
            TicketPlace::Seat { row: label, number } => {
                blocks.push(row("Fila", label));
                blocks.push(row("Asiento", number.to_string()));
            }
            TicketPlace::GeneralAdmission => blocks.push(row("Ubicación", "Entrada general")),
        }

        if let Some(price) = &self.price {
            blocks.push(row("Precio", price_text(price)));
        }
        if self.max_uses > 1 {
            blocks.push(row("Ingresos permitidos", self.max_uses.to_string()));
        }
        if self.cancelled {
            blocks.push(styled(
                "ANULADA: no válida para ingresar",
                TextStyle::CenteredBold,
            ));
        }

        blocks.push(Block::Qr {
            payload: self.qr_payload.clone(),
            caption: None,
        });
        blocks.push(styled(
            format!("Código {}", self.code),
            TextStyle::CenteredBold,
        ));
        if let Some(invoice) = &self.invoice {
            blocks.push(styled(invoice, TextStyle::Small));
        }
        blocks.push(styled(
            format!("Entrada {} de {}", self.position.0, self.position.1),
            TextStyle::Small,
        ));
        blocks
    }
}

fn price_text(price: &TicketPrice) -> String {
    let amount = format::usd(price.unit_usd_cents);
    if price.courtesy {
        format!("Cortesía ({amount})")
    } else if price.exempt {
        format!("{amount} (E)")
    } else if let Some(rate) = price.tax_basis_points {
        format!("{amount} + IVA {}", format::percent(rate))
    } else {
        amount
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use chrono::TimeZone;

    use super::*;

    /// Returns a seated ticket and a cancelled general-admission ticket.
    pub(crate) fn tickets() -> Vec<TicketPrint> {
        let starts_at = Utc.with_ymd_and_hms(2027, 1, 13, 0, 30, 0).unwrap();
        let seated = TicketPrint {
            organizer: "Producciones Ávila, C.A.".to_string(),
            event_name: "Concierto <Sinfónico> & Coro".to_string(),
            venue_name: "Teatro Teresa Carreño".to_string(),
            venue_address: "Av. Paseo Colón, Caracas".to_string(),
            starts_at,
            zone_name: "Platea".to_string(),
            place: TicketPlace::Seat {
                row: "B".to_string(),
                number: 7,
            },
            price: Some(TicketPrice {
                unit_usd_cents: 5_000,
                tax_basis_points: Some(1_600),
                exempt: false,
                courtesy: false,
            }),
            code: "0123456789ABCDEFGHJKMNPQRS".to_string(),
            qr_payload: "TQ1.0123456789ABCDEFGHJKMNPQRS.c2lnbmF0dXJl".to_string(),
            max_uses: 1,
            cancelled: false,
            invoice: Some("FACTURA Serie A N° 00000042".to_string()),
            position: (1, 2),
        };
        let general = TicketPrint {
            zone_name: "Pista".to_string(),
            place: TicketPlace::GeneralAdmission,
            price: Some(TicketPrice {
                unit_usd_cents: 2_500,
                tax_basis_points: None,
                exempt: true,
                courtesy: false,
            }),
            code: "ZYXWVTSRQPNMKJHGFEDCBA9876".to_string(),
            qr_payload: "TQ1.ZYXWVTSRQPNMKJHGFEDCBA9876.c2lnbmF0dXJl".to_string(),
            max_uses: 3,
            cancelled: true,
            position: (2, 2),
            ..seated.clone()
        };
        vec![seated, general]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_shows_tax_exemption_or_courtesy() {
        let mut price = TicketPrice {
            unit_usd_cents: 5_000,
            tax_basis_points: Some(1_600),
            exempt: false,
            courtesy: false,
        };
        assert_eq!(price_text(&price), "US$ 50,00 + IVA 16 %");
        price.exempt = true;
        price.tax_basis_points = None;
        assert_eq!(price_text(&price), "US$ 50,00 (E)");
        price.courtesy = true;
        price.unit_usd_cents = 0;
        assert_eq!(price_text(&price), "Cortesía (US$ 0,00)");
    }

    #[test]
    fn seat_and_general_admission_rows() {
        let tickets = fixtures::tickets();
        let seated = tickets[0].blocks();
        assert!(seated.contains(&row("Fila", "B")));
        assert!(seated.contains(&row("Asiento", "7")));
        // 00:30 UTC on the 13th is 8:30 p. m. on the 12th in Caracas.
        assert!(seated.contains(&row("Fecha", "12/01/2027, 8:30 p. m.")));
        let general = tickets[1].blocks();
        assert!(general.contains(&row("Ubicación", "Entrada general")));
        assert!(general.contains(&styled(
            "ANULADA: no válida para ingresar",
            TextStyle::CenteredBold
        )));
    }
}
