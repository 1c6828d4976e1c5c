-- A person's language for e-mails; empty: the tenant's default.
ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT '' CHECK (locale IN ('', 'it', 'en'));
