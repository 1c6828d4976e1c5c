// Package migrations holds coprod's schema as numbered SQL files
// (NNNN_name.sql), embedded in the binary and applied in order by
// `coprod migrate` (adapters/postgres.Migrate), followed by River's own.
//
// Conventions every file follows (the catalog test enforces them):
//   - a tenant-owned table has tenant_id first in its primary key, in every
//     foreign key and in every unique constraint;
//   - it has row-level security enabled and forced, with a policy whose USING
//     and WITH CHECK both compare tenant_id with app_current_tenant();
//   - privileges go to the group role coprod_app, never to PUBLIC; the
//     audit trail is insert-and-read only.
package migrations

import "embed"

//go:embed *.sql
var FS embed.FS
