// Package pgxtrace traces what programs do with jackc/pgx v5's own API, a
// connection (pgx.Conn) or a pool (pgxpool.Pool): one CLIENT span per query,
// execution, batch, copy and prepared statement, and per BEGIN, COMMIT and
// ROLLBACK, with the current database semantic conventions.
//
// The pgx integration's aspects replace the calls that make connections,
// in the program and its dependencies (not inside pgx), with this package's
// functions of the same signatures: Connect, ConnectWithOptions,
// ConnectConfig, NewPool and NewPoolWithConfig. Each does what pgx's does,
// after giving every connection it makes a Tracer of this package
// (pgx.ConnConfig.Tracer), which runs the tracer the program set, if any,
// inside its own: a tracer the program configured keeps working, and one
// that starts CLIENT spans of its own (otelpgx) is suppressed by the runtime
// under this package's. A pool's connections get theirs as they are made
// (BeforeConnect, after the program's own), so the pool itself still sees
// the program's tracer as its acquire and release tracer.
//
// What goes through database/sql (pgx/stdlib) is the database-sql
// integration's to trace: the connections stdlib makes itself get no tracer
// (calls inside pgx are not replaced), and on a traced connection that
// database/sql uses (stdlib.OpenDBFromPool, stdlib.OpenDB with a traced
// connection's config) the runtime records only database/sql's span of a
// call (one CLIENT span per call), while the BEGIN, COMMIT and ROLLBACK that
// stdlib runs outside its context get none of this package's.
//
// It only exists under overlay-gen's overlay.
package pgxtrace

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Connect is pgx.Connect, its connection traced.
func Connect(ctx context.Context, connString string) (*pgx.Conn, error) {
	config, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	Install(config)
	return pgx.ConnectConfig(ctx, config)
}

// ConnectWithOptions makes pgx.ConnectWithOptions from
// pgx.ParseConfigWithOptions (which pgx releases before v5.1 lack: the
// options' type is inferred, so that this package builds with them too).
// The call pgx.ConnectWithOptions(ctx, s, options) becomes
// ConnectWithOptions(pgx.ParseConfigWithOptions)(ctx, s, options).
func ConnectWithOptions[Options any](parse func(string, Options) (*pgx.ConnConfig, error)) func(context.Context, string, Options) (*pgx.Conn, error) {
	return func(ctx context.Context, connString string, options Options) (*pgx.Conn, error) {
		config, err := parse(connString, options)
		if err != nil {
			return nil, err
		}
		Install(config)
		return pgx.ConnectConfig(ctx, config)
	}
}

// ConnectConfig is pgx.ConnectConfig, its connection traced. The caller's
// config is left as it was: its copy gets the tracer.
func ConnectConfig(ctx context.Context, config *pgx.ConnConfig) (*pgx.Conn, error) {
	if config != nil {
		config = config.Copy()
		Install(config)
	}
	return pgx.ConnectConfig(ctx, config)
}

// NewPool is pgxpool.New, its connections traced.
func NewPool(ctx context.Context, connString string) (*pgxpool.Pool, error) {
	config, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	return NewPoolWithConfig(ctx, config)
}

// NewPoolWithConfig is pgxpool.NewWithConfig, its connections traced: the
// pool is given a copy of config whose BeforeConnect, after the caller's
// own, gives each new connection's config the tracer.
func NewPoolWithConfig(ctx context.Context, config *pgxpool.Config) (*pgxpool.Pool, error) {
	if config != nil {
		config = config.Copy()
		before := config.BeforeConnect
		config.BeforeConnect = func(ctx context.Context, connConfig *pgx.ConnConfig) error {
			if before != nil {
				if err := before(ctx, connConfig); err != nil {
					return err
				}
			}
			Install(connConfig)
			return nil
		}
	}
	return pgxpool.NewWithConfig(ctx, config)
}

// Install gives the config of a connection about to be made this package's
// tracer, around the one it has, if any. A config that has one already (a
// copy of a traced connection's) gets a new one around the same inner
// tracer: a connection's tracer is its own.
func Install(config *pgx.ConnConfig) {
	if config == nil {
		return
	}
	inner := config.Tracer
	if ours, ok := inner.(*tracer); ok {
		inner = ours.inner
	}
	config.Tracer = newTracer(config, inner)
}
