//! Ticket codes and their signed QR payloads.
//!
//! A QR payload is `TQ1.<code>.<signature>`, where the signature is Ed25519 over
//! `TQ1.<tenant id>.<code>` with the tenant's key, base64url without padding.
//! A gate scanner holding the tenant's public key can verify a ticket offline;
//! the server checks the signature again before admitting it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use uuid::Uuid;

const PREFIX: &str = "TQ1";

/// Returns a new random Ed25519 secret key (32 bytes).
pub fn new_signing_key() -> Vec<u8> {
    let mut secret = [0_u8; 32];
    getrandom::fill(&mut secret).expect("the operating system random source is available");
    secret.to_vec()
}

fn signing_key(secret: &[u8]) -> anyhow::Result<SigningKey> {
    let bytes: [u8; 32] = secret
        .try_into()
        .map_err(|_| anyhow::anyhow!("a tenant signing key must be 32 bytes"))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Returns the public key matching a tenant's secret, base64url-encoded.
pub fn public_key(secret: &[u8]) -> anyhow::Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(signing_key(secret)?.verifying_key().to_bytes()))
}

/// Returns a new ticket code: 16 random bytes in Crockford-style base32 (26 characters).
pub fn new_code() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system random source is available");
    let mut value = u128::from_be_bytes(bytes);
    let mut code = String::with_capacity(26);
    for _ in 0..26 {
        code.push(char::from(ALPHABET[(value & 31) as usize]));
        value >>= 5;
    }
    code
}

fn signed_message(tenant_id: Uuid, code: &str) -> String {
    format!("{PREFIX}.{tenant_id}.{code}")
}

/// Builds the QR payload of a ticket.
pub fn sign(secret: &[u8], tenant_id: Uuid, code: &str) -> anyhow::Result<String> {
    let signature = signing_key(secret)?.sign(signed_message(tenant_id, code).as_bytes());
    Ok(format!(
        "{PREFIX}.{code}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

/// Checks a QR payload against a tenant's key and returns the ticket code it carries.
pub fn verify(secret: &[u8], tenant_id: Uuid, payload: &str) -> Option<String> {
    let mut parts = payload.trim().split('.');
    let (Some(prefix), Some(code), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if prefix != PREFIX {
        return None;
    }
    let signature_bytes: [u8; 64] = URL_SAFE_NO_PAD.decode(signature).ok()?.try_into().ok()?;
    let verifying_key: VerifyingKey = signing_key(secret).ok()?.verifying_key();
    verifying_key
        .verify(
            signed_message(tenant_id, code).as_bytes(),
            &Signature::from_bytes(&signature_bytes),
        )
        .ok()?;
    Some(code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_verifies_with_its_tenant_key_only() {
        let secret = new_signing_key();
        let tenant = Uuid::now_v7();
        let code = new_code();
        let payload = sign(&secret, tenant, &code).unwrap();

        assert_eq!(verify(&secret, tenant, &payload), Some(code.clone()));
        assert_eq!(verify(&secret, Uuid::now_v7(), &payload), None);
        assert_eq!(verify(&new_signing_key(), tenant, &payload), None);
    }

    #[test]
    fn tampered_code_is_rejected() {
        let secret = new_signing_key();
        let tenant = Uuid::now_v7();
        let payload = sign(&secret, tenant, &new_code()).unwrap();
        let mut parts: Vec<&str> = payload.split('.').collect();
        let forged = new_code();
        parts[1] = &forged;
        assert_eq!(verify(&secret, tenant, &parts.join(".")), None);
    }

    #[test]
    fn codes_are_distinct_and_26_characters() {
        let first = new_code();
        assert_eq!(first.len(), 26);
        assert_ne!(first, new_code());
    }
}
