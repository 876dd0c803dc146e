// Package migrations embeds the PostgreSQL schema as numbered
// NNNNNN_name.up.sql / .down.sql files, applied by `cloud migrate`.
package migrations

import "embed"

// FS holds the migration files at its root.
//
//go:embed *.sql
var FS embed.FS
