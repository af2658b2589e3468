package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// kind is one of the three parts of a record. Its value is also the kind
// column of {used}.
type kind int

const (
	kindCode    kind = 1
	kindAccess  kind = 2
	kindRefresh kind = 3
)

var kinds = [...]kind{kindCode, kindAccess, kindRefresh}

func (k kind) column() string {
	switch k {
	case kindCode:
		return "code"
	case kindAccess:
		return "access"
	}
	return "refresh"
}

func (k kind) index() int { return int(k) - 1 }

// RecordColumns are the columns of {tokens} that insert and replace
// write, in the order of RecordArgs.
const RecordColumns = `grant_id, client_id, user_id, redirect_uri, scope, code_challenge, code_challenge_method,
	code_hash, code_created, code_ttl, code_expires,
	access_hash, access_created, access_ttl, access_expires,
	refresh_hash, refresh_created, refresh_ttl, refresh_expires,
	expires_at, extension`

// ReadColumns are the columns of {tokens} that the lookups read, in the
// order of scanRecord. A part is present when its ttl is not NULL.
const ReadColumns = `grant_id, client_id, user_id, redirect_uri, scope, code_challenge, code_challenge_method,
	code_created, code_ttl, access_created, access_ttl, refresh_created, refresh_ttl, extension`

// usedColumns are written by UpsertUsed, in the order of its arguments:
// the consumed key and, for a *oauth2.ReusedError, what the consumed
// record was issued to.
const usedColumns = `hash, kind, grant_id, expires_at, client_id, redirect_uri, code_challenge, code_challenge_method`

// clientColumns are written by UpsertClient, in the order of its arguments.
const clientColumns = `id, secret_hash, domain, redirect_uris, grant_types, scopes, public, user_id,
	token_endpoint_auth_method, jwks`

// query is one statement: prepared once on its pool when the dialect
// prepares, else sent as text for the driver's own statement cache.
type query struct {
	text string
	db   *sql.DB
	ps   *sql.Stmt
}

type queries struct {
	replace, deleteID, getUsed, getUsedTx, upsertUsed, revoke *query
	insertRows                                                [maxInsertRows]*query // of 1, 2, ... rows
	get, lock, clear                                          [3]*query
	sweepTokens, sweepUsed                                    *query
	getClient, upsertClient, deleteClient                     *query
	sweepKV, kvPut, kvPutIfAbsent, kvIncr, kvCount            *query
	kvGet, kvLock, kvDelete, kvTakeDelete                     *query
	docInsert, docLock, docUpdate, docDelete, docGet, docList *query
	docBump, docVersion                                       *query
}

func (s *Store) prepare(ctx context.Context) error {
	d := s.d
	var err error
	s.stmtOf = make(map[string]*sql.Stmt)
	q := func(db *sql.DB, text string) *query {
		qq := &query{text: d.rebind(s.t, text), db: db}
		if d.Prepare && err == nil {
			qq.ps, err = db.PrepareContext(ctx, qq.text)
			if err == nil {
				s.stmts = append(s.stmts, qq.ps)
				if db == s.w {
					s.stmtOf[qq.text] = qq.ps
				}
			}
		}
		return qq
	}
	set := func(cols string) string {
		parts := strings.Split(cols, ",")
		for i, c := range parts {
			parts[i] = strings.TrimSpace(c) + " = ?"
		}
		return strings.Join(parts, ", ")
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", strings.Count(RecordColumns, ",")+1), ", ")

	for i := range s.q.insertRows {
		rows := strings.TrimSuffix(strings.Repeat("("+marks+"), ", i+1), ", ")
		s.q.insertRows[i] = q(s.w, `INSERT INTO {tokens} (`+RecordColumns+`) VALUES `+rows)
	}
	s.q.replace = q(s.w, `UPDATE {tokens} SET `+set(RecordColumns)+` WHERE id = ?`)
	s.q.deleteID = q(s.w, `DELETE FROM {tokens} WHERE id = ?`)
	s.q.upsertUsed = q(s.w, d.UpsertUsed)
	getUsed := `SELECT grant_id, client_id, redirect_uri, code_challenge, code_challenge_method
	FROM {used} WHERE hash = ? AND kind = ? AND expires_at > ?`
	s.q.getUsed = q(s.r, getUsed)
	s.q.getUsedTx = q(s.w, getUsed)
	s.q.revoke = q(s.w, `DELETE FROM {tokens} WHERE grant_id = ?`+d.RevokeWhere)
	for _, k := range kinds {
		c := k.column()
		s.q.get[k.index()] = q(s.r, fmt.Sprintf(
			`SELECT %s FROM {tokens} WHERE %s_hash = ? AND %s_expires > ?`, ReadColumns, c, c))
		// alone: the row holds nothing else once this part is gone (a
		// refresh token takes its access token with it).
		var alone string
		switch k {
		case kindCode:
			alone = "access_hash IS NULL AND refresh_hash IS NULL"
		case kindAccess:
			alone = "code_hash IS NULL AND refresh_hash IS NULL"
		case kindRefresh:
			alone = "code_hash IS NULL"
		}
		s.q.lock[k.index()] = q(s.w, fmt.Sprintf(
			`SELECT id, grant_id, client_id, redirect_uri, code_challenge, code_challenge_method, %s_expires, %s
	FROM {tokens} WHERE %s_hash = ? AND %s_expires > ?%s`,
			c, alone, c, c, d.ForUpdate))
		cleared := []string{c}
		if k == kindRefresh {
			cleared = append(cleared, kindAccess.column())
		}
		// Only the hash goes: the part's key is gone, its non-secret
		// fields stay with the record.
		var sets []string
		for _, c := range cleared {
			sets = append(sets, c+"_hash = NULL")
		}
		s.q.clear[k.index()] = q(s.w, `UPDATE {tokens} SET `+strings.Join(sets, ", ")+` WHERE id = ?`)
	}
	s.q.sweepTokens = q(s.w, d.SweepTokens)
	s.q.sweepUsed = q(s.w, d.SweepUsed)
	s.q.getClient = q(s.r, `SELECT secret_hash, domain, redirect_uris, grant_types, scopes, public, user_id,
	token_endpoint_auth_method, jwks FROM {clients} WHERE id = ?`)
	s.q.upsertClient = q(s.w, d.UpsertClient)
	s.q.deleteClient = q(s.w, `DELETE FROM {clients} WHERE id = ?`)
	s.q.sweepKV = q(s.w, d.SweepKV)
	s.q.kvPut = q(s.w, d.KVPut)
	s.q.kvPutIfAbsent = q(s.w, d.KVPutIfAbsent)
	s.q.kvIncr = q(s.w, d.KVIncr)
	s.q.kvCount = q(s.w, `SELECT counter FROM {kv} WHERE k = ?`)
	s.q.kvGet = q(s.r, `SELECT val FROM {kv} WHERE k = ? AND expires_at > ? AND val IS NOT NULL`)
	s.q.kvLock = q(s.w, `SELECT val FROM {kv} WHERE k = ? AND expires_at > ? AND val IS NOT NULL`+d.ForUpdate)
	s.q.kvDelete = q(s.w, `DELETE FROM {kv} WHERE k = ?`)
	s.q.kvTakeDelete = q(s.w, `DELETE FROM {kv} WHERE k = ? AND expires_at > ? AND val IS NOT NULL`)
	s.q.docInsert = q(s.w, d.InsertDocument)
	s.q.docLock = q(s.w, `SELECT 1 FROM {documents} WHERE kind = ? AND id = ?`+d.ForUpdate)
	s.q.docUpdate = q(s.w, `UPDATE {documents} SET body = ? WHERE kind = ? AND id = ?`)
	s.q.docDelete = q(s.w, `DELETE FROM {documents} WHERE kind = ? AND id = ?`)
	s.q.docGet = q(s.r, `SELECT body FROM {documents} WHERE kind = ? AND id = ?`)
	s.q.docList = q(s.r, `SELECT id, body FROM {documents} WHERE kind = ? AND id > ? ORDER BY id LIMIT ?`)
	s.q.docBump = q(s.w, d.BumpDocumentVersion)
	s.q.docVersion = q(s.r, `SELECT version FROM {docversions} WHERE kind = ?`)
	return err
}

// row runs q, in tx when tx is not nil, and returns its single row.
func (q *query) row(ctx context.Context, tx *sql.Tx, args ...any) *sql.Row {
	switch {
	case tx != nil && q.ps != nil:
		return tx.StmtContext(ctx, q.ps).QueryRowContext(ctx, args...)
	case tx != nil:
		return tx.QueryRowContext(ctx, q.text, args...)
	case q.ps != nil:
		return q.ps.QueryRowContext(ctx, args...)
	}
	return q.db.QueryRowContext(ctx, q.text, args...)
}

// rows runs q, outside any transaction, and returns its rows.
func (q *query) rows(ctx context.Context, args ...any) (*sql.Rows, error) {
	if q.ps != nil {
		return q.ps.QueryContext(ctx, args...)
	}
	return q.db.QueryContext(ctx, q.text, args...)
}

// exec runs q, in tx when tx is not nil, and returns how many rows it
// changed.
func (q *query) exec(ctx context.Context, tx *sql.Tx, args ...any) (int64, error) {
	var res sql.Result
	var err error
	switch {
	case tx != nil && q.ps != nil:
		res, err = tx.StmtContext(ctx, q.ps).ExecContext(ctx, args...)
	case tx != nil:
		res, err = tx.ExecContext(ctx, q.text, args...)
	case q.ps != nil:
		res, err = q.ps.ExecContext(ctx, args...)
	default:
		res, err = q.db.ExecContext(ctx, q.text, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
