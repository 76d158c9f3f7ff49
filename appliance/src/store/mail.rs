//! The queue of invitation e-mails that `mail.rs` sends: invitations made with an `email`
//! that no SMTP server has accepted yet (`emailed` NULL) nor refused for good (`email_error`
//! NULL), in the order they were made. Like invitations, none of this syncs or enters the
//! change log.

use rusqlite::{params, OptionalExtension};

use super::Store;
use crate::error::{Error, Result};
use crate::model::Kind;

/// Longest refusal kept for the admins to read, in characters.
const MAX_ERROR_CHARS: usize = 500;

/// An invitation whose e-mail is to be sent, with what the message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEmail {
    pub code: String,
    pub email: String,
    pub element_id: String,
    pub element_kind: Kind,
    pub element_name: String,
    /// The name of the person who invites (absent if their element is gone).
    pub inviter: Option<String>,
    pub roles: Vec<String>,
    pub is_admin: bool,
    /// Epoch seconds.
    pub expires: Option<i64>,
}

impl Store {
    /// The oldest invitation whose e-mail waits, among those that can still be used at `now`
    /// (epoch seconds): a used-up or expired invitation is not worth an e-mail. A withdrawn
    /// one is gone from the table.
    pub fn next_queued_email(&self, now: i64) -> Result<Option<QueuedEmail>> {
        let row = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT i.code, i.email, i.element_id, e.kind, e.name, p.name, i.roles, i.is_admin, i.expires
                 FROM invitations i
                 JOIN elements e ON e.id = i.element_id
                 LEFT JOIN elements p ON p.id = i.created_by
                 WHERE i.email IS NOT NULL AND i.emailed IS NULL AND i.email_error IS NULL
                   AND i.uses < i.max_uses AND (i.expires IS NULL OR i.expires > ?1)
                 ORDER BY i.rowid
                 LIMIT 1",
            )?
            .query_row([now], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, bool>(7)?,
                    r.get::<_, Option<i64>>(8)?,
                ))
            })
            .optional()?)
        })?;
        let Some((code, email, element_id, kind, element_name, inviter, roles, is_admin, expires)) = row else {
            return Ok(None);
        };
        let element_kind = Kind::parse(&kind)
            .ok_or_else(|| Error::Corrupt(format!("element {element_id} has an unknown kind {kind}")))?;
        let roles = serde_json::from_str(&roles).map_err(|e| Error::Corrupt(format!("invitation roles: {e}")))?;
        Ok(Some(QueuedEmail {
            code,
            email,
            element_id,
            element_kind,
            element_name,
            inviter,
            roles,
            is_admin,
            expires,
        }))
    }

    /// Records that the SMTP server accepted the invitation's e-mail at `when`. Returns false
    /// when the invitation is gone (withdrawn meanwhile) or was already marked.
    pub fn mark_email_sent(&self, code: &str, when: i64) -> Result<bool> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE invitations SET emailed = ?2 WHERE code = ?1 AND emailed IS NULL AND email_error IS NULL",
                )?
                .execute(params![code, when])?
                > 0)
        })
    }

    /// Records that the SMTP server refused the invitation's e-mail for good, and why: it
    /// leaves the queue. Returns false when the invitation is gone or was already marked.
    pub fn mark_email_failed(&self, code: &str, error: &str) -> Result<bool> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE invitations SET email_error = ?2
                     WHERE code = ?1 AND emailed IS NULL AND email_error IS NULL",
                )?
                .execute(params![code, error])?
                > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::NewInvitation;

    fn doc(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_queue_is_in_order_and_skips_what_is_not_worth_sending() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let alice = s
            .create_element(Kind::Person, doc(json!({"name": "Alice"})), None)
            .unwrap()
            .id;
        let org = s
            .create_element_by(
                &alice,
                Kind::Organization,
                doc(json!({"name": "Jardin", "type": "NGO"})),
                None,
            )
            .unwrap()
            .id;
        let invite = |code: &str, email: Option<&str>, expires: Option<i64>| {
            s.create_invitation(&NewInvitation {
                code: code.into(),
                element: org.clone(),
                roles: vec!["partner".into()],
                is_admin: false,
                created_by: alice.clone(),
                expires,
                max_uses: 1,
                email: email.map(str::to_owned),
            })
            .unwrap();
        };
        // Made in this order; the wall clock plays no part.
        invite("zzz", Some("first@example.org"), None);
        invite("aaa", Some("second@example.org"), None);
        invite("nomail", None, None);
        invite("expired", Some("late@example.org"), Some(1));
        invite("used", Some("used@example.org"), None);
        let bob = s
            .create_element(Kind::Person, doc(json!({"name": "Bob"})), None)
            .unwrap()
            .id;
        s.join_with_code("used", &bob).unwrap();

        let now = crate::model::now_seconds();
        let first = s.next_queued_email(now).unwrap().unwrap();
        assert_eq!(
            (first.code.as_str(), first.email.as_str(), first.element_name.as_str()),
            ("zzz", "first@example.org", "Jardin")
        );
        assert_eq!(
            (first.element_kind, first.inviter.as_deref()),
            (Kind::Organization, Some("Alice"))
        );
        assert_eq!(first.roles, vec!["partner".to_owned()]);
        assert!(s.mark_email_sent("zzz", now).unwrap());
        assert!(!s.mark_email_sent("zzz", now).unwrap(), "marked once");
        let second = s.next_queued_email(now).unwrap().unwrap();
        assert_eq!(second.code, "aaa");
        assert!(s
            .mark_email_failed("aaa", &format!("550 no such user {}", "x".repeat(1000)))
            .unwrap());
        assert!(!s.mark_email_sent("aaa", now).unwrap(), "a failed one stays failed");
        assert_eq!(s.next_queued_email(now).unwrap(), None);

        let listed = s.invitations_of(&org).unwrap();
        let of = |code: &str| listed.iter().find(|i| i.code == code).unwrap();
        assert_eq!((of("zzz").emailed, of("zzz").email_error.as_deref()), (Some(now), None));
        assert_eq!(of("aaa").emailed, None);
        assert_eq!(
            of("aaa").email_error.as_ref().map(|e| e.chars().count()),
            Some(MAX_ERROR_CHARS)
        );
        // Withdrawn: nothing to mark.
        assert!(s.delete_invitation(&org, "expired").unwrap());
        assert!(!s.mark_email_sent("expired", now).unwrap());
    }
}
