package postgres_test

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/postgres/postgrestest"
)

// TestUUIDsAsBytes: ids registered by ConfigurePool (the pool of
// postgrestest, as the service's) reach PostgreSQL intact, alone, in arrays
// and through pointers, and come back equal.
func TestUUIDsAsBytes(t *testing.T) {
	db := postgrestest.New(t)
	ctx := t.Context()
	ids := []uuid.UUID{uuid.New(), uuid.Nil, uuid.MustParse("ffffffff-ffff-ffff-ffff-ffffffffffff")}
	for _, id := range ids {
		var text string
		var back uuid.UUID
		if err := db.App.QueryRow(ctx, `SELECT $1::uuid::text, $1::uuid`, id).Scan(&text, &back); err != nil {
			t.Fatal(err)
		}
		if text != id.String() || back != id {
			t.Errorf("%s came back as %s, %s", id, text, back)
		}
	}
	var arr []uuid.UUID
	if err := db.App.QueryRow(ctx, `SELECT $1::uuid[]`, ids).Scan(&arr); err != nil || !slices.Equal(arr, ids) {
		t.Errorf("array: %v %v", arr, err)
	}
	var isNull bool
	var none *uuid.UUID
	if err := db.App.QueryRow(ctx, `SELECT $1::uuid IS NULL, $2::uuid = $3::uuid`, none, &ids[0], ids[0]).Scan(&isNull, new(bool)); err != nil || !isNull {
		t.Errorf("a nil pointer is not NULL: %v %v", isNull, err)
	}
}
