package mysql

import (
	"errors"
	"fmt"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"

	"github.com/oauth2d/oauth2/internal/sqlstore"
)

func TestClassify_ServerErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want sqlstore.Class
	}{
		{"deadlock", &mysqldriver.MySQLError{Number: 1213}, sqlstore.Conflict},
		{"lock wait timeout", fmt.Errorf("exec: %w", &mysqldriver.MySQLError{Number: 1205}), sqlstore.Conflict},
		{"too many connections", &mysqldriver.MySQLError{Number: 1040}, sqlstore.Unavailable},
		{"server shutdown", &mysqldriver.MySQLError{Number: 1053}, sqlstore.Unavailable},
		{"read-only", &mysqldriver.MySQLError{Number: 1290}, sqlstore.Unavailable},
		{"invalid connection", mysqldriver.ErrInvalidConn, sqlstore.Unavailable},
		{"duplicate key", &mysqldriver.MySQLError{Number: 1062}, sqlstore.Permanent},
		{"access denied", &mysqldriver.MySQLError{Number: 1045}, sqlstore.Permanent},
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
