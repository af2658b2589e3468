package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oauth2d/oauth2/internal/sqlstore"
)

func TestClassify_ServerErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want sqlstore.Class
	}{
		{"serialization failure", &pgconn.PgError{Code: "40001"}, sqlstore.Conflict},
		{"deadlock", fmt.Errorf("exec: %w", &pgconn.PgError{Code: "40P01"}), sqlstore.Conflict},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, sqlstore.Unavailable},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, sqlstore.Unavailable},
		{"too many connections", &pgconn.PgError{Code: "53300"}, sqlstore.Unavailable},
		{"connection failure", &pgconn.PgError{Code: "08006"}, sqlstore.Unavailable},
		{"read-only standby", &pgconn.PgError{Code: "25006"}, sqlstore.Unavailable},
		{"unique violation", &pgconn.PgError{Code: "23505"}, sqlstore.Permanent},
		{"undefined table", &pgconn.PgError{Code: "42P01"}, sqlstore.Permanent},
		{"other", errors.New("boom"), sqlstore.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Fatalf("classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
