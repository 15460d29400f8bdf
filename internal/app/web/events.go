package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/session"
)

// Events records security events in the database and the log.
type Events struct {
	DB  *store.DB
	Log *slog.Logger
	// Meter, when set, counts every event by kind.
	Meter Meter
}

// Record stores an event about r in the log and the database. An event
// with no account (userID 0: a failed sign-in for an unknown email) is only
// counted in the database, per kind and hour, since anyone can cause it. A
// failure to store it is logged, never shown: the request goes on.
func (ev Events) Record(r *http.Request, userID int64, kind store.EventKind) {
	ctx := r.Context()
	if ev.Meter != nil {
		ev.Meter.Event(r, kind)
	}
	ip := ClientAddr(r)
	ev.Log.InfoContext(ctx, "security event", "event", string(kind), "user_id", userID, "client", ip)
	var err error
	if userID == 0 {
		err = ev.DB.CountEvent(ctx, kind, time.Now())
	} else {
		err = ev.DB.RecordEvent(ctx, store.Event{UserID: userID, Kind: kind, IP: ip, UserAgent: session.CleanUserAgent(r.UserAgent())})
	}
	if err != nil {
		ev.Log.ErrorContext(ctx, "record security event", "event", string(kind), "error", err)
	}
}
