package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/oauth2d/oauth2"
)

// The oauth2.DocumentStore capability (docs/architecture.md section 4)
// keeps each document as a row of {documents}, keyed by (kind, id) in
// binary columns, so that the primary key orders IDs byte by byte and
// ListDocuments is one range scan of it. {docversions} holds one row per
// kind ever written, the number of changes made so far to the documents
// of that kind: DocumentsVersion reads it by its primary key (no row:
// version 0), and every change adds one to it in the transaction of the
// change.
//
// Document writes are few next to token writes (an administrator's, and
// the grant index's on code issuance and refresh), so each runs in a
// plain transaction of its own rather than in a batch of the committer.
// Its first statement is the upsert of its kind's counter
// (Dialect.BumpDocumentVersion), which takes that row's lock: the writes
// of one kind, in every process, run one after the other, writes of
// different kinds do not wait on each other, and a write that fails rolls
// the increment back with it. Each transaction locks one counter row, so
// they cannot deadlock on them. The committer's batches never touch these
// tables, so the two never wait on each other's locks. A create inserts
// with the duplicate key ignored (Dialect.InsertDocument) and reads the
// rows affected: of concurrent creators of one ID, in any number of
// processes, exactly one inserts.

var _ oauth2.DocumentStore = (*Store)(nil)

// docBody returns body as it is bound: never nil, which the drivers would
// send as NULL.
func docBody(body []byte) []byte {
	if body == nil {
		return []byte{}
	}
	return body
}

// CreateDocument stores body under (kind, id) unless a document is there
// (oauth2.ErrExists).
func (s *Store) CreateDocument(ctx context.Context, kind, id string, body []byte) error {
	const op = "create document"
	if err := oauth2.CheckDocument(kind, id, body); err != nil {
		return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
	}
	return s.docWrite(ctx, op, kind, func(ctx context.Context, tx *sql.Tx) error {
		n, err := s.q.docInsert.exec(ctx, tx, []byte(kind), []byte(id), docBody(body))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s: %s %s: %w", s.d.Name, op, kind, oauth2.ErrExists)
		}
		return nil
	})
}

// UpdateDocument replaces the body of an existing document
// (oauth2.ErrNotFound when there is none).
func (s *Store) UpdateDocument(ctx context.Context, kind, id string, body []byte) error {
	const op = "update document"
	if err := oauth2.CheckDocument(kind, id, body); err != nil {
		return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
	}
	k, i := []byte(kind), []byte(id)
	return s.docWrite(ctx, op, kind, func(ctx context.Context, tx *sql.Tx) error {
		// Not the rows affected of the UPDATE: MySQL counts only the rows
		// it changed, none when the body is the same.
		var one int
		err := s.q.docLock.row(ctx, tx, k, i).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return s.docNotFound(op, kind)
		case err != nil:
			return err
		}
		_, err = s.q.docUpdate.exec(ctx, tx, docBody(body), k, i)
		return err
	})
}

// GetDocument returns the body of a document (oauth2.ErrNotFound when
// there is none).
func (s *Store) GetDocument(ctx context.Context, kind, id string) ([]byte, error) {
	const op = "get document"
	if err := oauth2.CheckDocument(kind, id, nil); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
	}
	ctx, cancel := s.readOp(ctx)
	defer cancel()
	var body []byte
	err := s.q.docGet.row(ctx, nil, []byte(kind), []byte(id)).Scan(&body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, s.docNotFound(op, kind)
	case err != nil:
		return nil, s.fail(ctx, op, err)
	}
	return docBody(body), nil
}

// DeleteDocument removes a document (oauth2.ErrNotFound when there is
// none).
func (s *Store) DeleteDocument(ctx context.Context, kind, id string) error {
	const op = "delete document"
	if err := oauth2.CheckDocument(kind, id, nil); err != nil {
		return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
	}
	return s.docWrite(ctx, op, kind, func(ctx context.Context, tx *sql.Tx) error {
		n, err := s.q.docDelete.exec(ctx, tx, []byte(kind), []byte(id))
		if err != nil {
			return err
		}
		if n == 0 {
			return s.docNotFound(op, kind)
		}
		return nil
	})
}

// ListDocuments returns up to limit documents of kind whose IDs sort after
// after, in ascending byte order: one range scan of the primary key.
func (s *Store) ListDocuments(ctx context.Context, kind, after string, limit int) ([]oauth2.Document, error) {
	const op = "list documents"
	if err := oauth2.CheckListLimit(limit); err != nil {
		return nil, fmt.Errorf("%s: %w", s.d.Name, err)
	}
	ctx, cancel := s.readOp(ctx)
	defer cancel()
	rows, err := s.q.docList.rows(ctx, []byte(kind), []byte(after), int64(limit))
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	defer rows.Close()
	var docs []oauth2.Document
	for rows.Next() {
		var id, body []byte
		if err := rows.Scan(&id, &body); err != nil {
			return nil, s.fail(ctx, op, err)
		}
		docs = append(docs, oauth2.Document{ID: string(id), Body: docBody(body)})
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return docs, nil
}

// DocumentsVersion returns the number of changes made so far to the
// documents of kind, by every process (0 for a kind never written): one
// read of {docversions} by its primary key.
func (s *Store) DocumentsVersion(ctx context.Context, kind string) (int64, error) {
	ctx, cancel := s.readOp(ctx)
	defer cancel()
	var v int64
	err := s.q.docVersion.row(ctx, nil, []byte(kind)).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, s.fail(ctx, "documents version", err)
	}
	return v, nil
}

// docWrite runs fn in a transaction of its own after the increment of the
// change counter of kind, again when the engine aborts it as a conflict,
// within the store's timeout. An error of fn rolls the increment back.
func (s *Store) docWrite(ctx context.Context, op, kind string, fn func(context.Context, *sql.Tx) error) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	err := s.retry(ctx, func() error {
		tx, err := s.w.BeginTx(ctx, s.d.TxOptions)
		if err != nil {
			return err
		}
		if _, err := s.q.docBump.exec(ctx, tx, []byte(kind)); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := fn(ctx, tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	if errors.Is(err, oauth2.ErrExists) {
		return err
	}
	if err != nil {
		return s.fail(ctx, op, err) // ErrNotFound passes through
	}
	return s.durable(op)
}

// docNotFound is the error of a document of kind that is not there.
func (s *Store) docNotFound(op, kind string) error { return s.notFound(op + " " + kind) }
