-- Third-sector organisations (enti del Terzo settore). Platform-level: an
-- organisation acts in many municipalities; what it submits to a call lives
-- in the tenant of that call.
CREATE TABLE organisations (
    id                  uuid        PRIMARY KEY,
    fiscal_code         text        NOT NULL CONSTRAINT organisations_fiscal_code_key UNIQUE CHECK (fiscal_code ~ '^[0-9]{11}$'),
    legal_name          text        NOT NULL CHECK (length(legal_name) BETWEEN 1 AND 300),
    legal_form          text        NOT NULL CHECK (legal_form IN ('social_cooperative', 'association', 'recognised_association',
                                        'foundation', 'social_enterprise', 'mutual_aid_society', 'other')),
    runts_number        text,
    runts_section       text        CHECK (runts_section IN ('odv', 'aps', 'ef', 'is', 'ra', 'sms', 'aets')),
    runts_registered_on date,
    runts_status        text        NOT NULL DEFAULT 'not_registered'
                                    CHECK (runts_status IN ('not_registered', 'pending', 'registered', 'cancelled')),
    seat_istat_code     text        CHECK (seat_istat_code ~ '^[0-9]{6}$'),
    email               text        NOT NULL DEFAULT '',
    pec                 text        NOT NULL DEFAULT '',
    phone               text        NOT NULL DEFAULT '',
    website             text        NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    version             integer     NOT NULL DEFAULT 1,
    CONSTRAINT organisations_runts CHECK (runts_status <> 'registered' OR (runts_number IS NOT NULL AND runts_section IS NOT NULL AND runts_registered_on IS NOT NULL))
);
CREATE INDEX organisations_name_idx ON organisations (lower(legal_name));

-- Who acts for an organisation: org_admin manages members, org_member applies and reports.
CREATE TABLE organisation_members (
    organisation_id uuid        NOT NULL REFERENCES organisations (id),
    user_id         uuid        NOT NULL REFERENCES users (id),
    role            text        NOT NULL CHECK (role IN ('org_admin', 'org_member')),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (organisation_id, user_id)
);
CREATE INDEX organisation_members_user_idx ON organisation_members (user_id);

REVOKE ALL ON organisations, organisation_members FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON organisations TO coprod_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON organisation_members TO coprod_app;
