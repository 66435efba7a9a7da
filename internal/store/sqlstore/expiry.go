package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// revokedSessionGrace is how long a revoked session row outlives its
// revocation, so a replica that cached the session sees the revocation on
// its next look instead of a missing row it might treat differently.
const revokedSessionGrace = 24 * time.Hour

// expiredDeletes run in this order: login flows before the authz requests
// they reference (ON DELETE CASCADE would take them anyway, but then the
// count would miss them). Every statement takes $1 = now; sessions also take
// $2 = now - revokedSessionGrace. Expired means expires_at < now, consumed
// or not: a spent code or refresh token stays until then, so its reuse is
// still recognised.
var expiredDeletes = []struct {
	name, sql   string
	graceCutoff bool // binds $2 = now - revokedSessionGrace
}{
	{"login flows", `DELETE FROM login_flows WHERE expires_at < $1`, false},
	{"authz requests", `DELETE FROM authz_requests WHERE expires_at < $1`, false},
	{"auth codes", `DELETE FROM auth_codes WHERE expires_at < $1`, false},
	{"access tokens", `DELETE FROM access_tokens WHERE expires_at < $1`, false},
	{"refresh tokens", `DELETE FROM refresh_tokens WHERE expires_at < $1`, false},
	{"sessions", `DELETE FROM sessions
	WHERE absolute_expires_at < $1 OR idle_expires_at < $1 OR revoked_at < $2`, true},
	{"invitations", `DELETE FROM invitations WHERE expires_at < $1 OR consumed_at IS NOT NULL`, false},
}

// DeleteExpired removes expired and spent one-time rows and returns how many
// went. Each DELETE is idempotent and independent, so replicas may run it
// at the same time: a row deleted by one is simply not counted by another.
func (q queries) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, d := range expiredDeletes {
		args := []any{ms(now)}
		if d.graceCutoff {
			args = append(args, ms(now.Add(-revokedSessionGrace)))
		}
		res, err := q.w.ExecContext(ctx, d.sql, args...)
		if err != nil {
			return total, fmt.Errorf("sqlstore: delete expired %s: %w", d.name, mapErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqlstore: delete expired %s: %w", d.name, err)
		}
		total += n
	}
	return total, nil
}
