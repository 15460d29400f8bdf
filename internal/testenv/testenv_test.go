package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestRedisAnswers(t *testing.T) {
	addr := Redis(t)
	if err := ping(addr); err != nil {
		t.Fatalf("shared redis: %v", err)
	}
	own := NewRedis(t)
	own.Stop()
	if ping(own.Addr) == nil {
		t.Fatal("stopped redis still answers")
	}
	own.Start(t)
	if err := ping(own.Addr); err != nil {
		t.Fatalf("restarted redis: %v", err)
	}
}

func TestPostgresGivesSeparateDatabases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := Postgres(t), Postgres(t)
	if a == b {
		t.Fatal("two calls returned the same database")
	}
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

func TestChromiumFound(t *testing.T) {
	if Chromium(t) == "" {
		t.Fatal("empty path")
	}
}
