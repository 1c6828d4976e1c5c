package postgres_test

import (
	"testing"

	"github.com/coprod/coprod/adapters/postgres/postgrestest"
)

func TestMain(m *testing.M) { postgrestest.Main(m) }
