-- The sent-log of e-mails: one row per (notification, recipient), so a
-- retried delivery never sends twice. Platform-level: notices go to
-- organisations across tenants.
CREATE TABLE mail_sent_log (
    key        text        PRIMARY KEY,
    message_id text        NOT NULL,
    recipient  text        NOT NULL,
    sent_at    timestamptz NOT NULL
);
REVOKE ALL ON mail_sent_log FROM PUBLIC;
GRANT SELECT, INSERT ON mail_sent_log TO coprod_app;
