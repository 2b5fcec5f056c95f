// Package dsn reads the data source names of the database/sql drivers that
// have no integration of their own, for the spans' server.address,
// server.port and db.namespace: where the server is and which database is
// used. It reads what the string says (not the environment the driver may
// also read: PGHOST...), returns no other part of it (never a password or a
// parameter) and never fails: what it cannot read, it leaves out.
package dsn

import (
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// PostgresPort is the port a PostgreSQL connection string that names a host
// but no port connects to.
const PostgresPort = 5432

// Postgres reads a PostgreSQL connection string as lib/pq and pgx take it: a
// URL (postgres://user:secret@host:port/database?sslmode=disable) or
// key=value pairs (host=... port=... dbname=...). A host that is a directory
// (/var/run/postgresql) is a Unix socket's: its address is the socket's path
// in it, and it has no port. Several hosts (a,b: the first that answers is
// used) give none: which one serves is known only when connecting.
func Postgres(s string) (host string, port int, database string) {
	s = strings.TrimSpace(s)
	var hostList, portText string
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", 0, ""
		}
		query := u.Query()
		database = strings.TrimPrefix(u.Path, "/")
		if d := query.Get("dbname"); d != "" {
			database = d
		}
		hostList, portText = u.Host, ""
		if h, p, err := net.SplitHostPort(u.Host); err == nil && !strings.Contains(u.Host, ",") {
			hostList, portText = h, p
		}
		hostList = strings.Trim(hostList, "[]")
		if h := query.Get("host"); h != "" {
			hostList = h
		}
		if p := query.Get("port"); p != "" {
			portText = p
		}
	} else {
		settings := keyValues(s)
		hostList, portText, database = settings["host"], settings["port"], settings["dbname"]
		if hostList == "" {
			hostList = settings["hostaddr"]
		}
	}
	if hostList == "" || strings.Contains(hostList, ",") || strings.Contains(portText, ",") {
		return "", 0, database
	}
	port = PostgresPort
	if portText != "" {
		n, err := strconv.Atoi(portText)
		if err != nil || n <= 0 || n > 65535 {
			return "", 0, database
		}
		port = n
	}
	if strings.HasPrefix(hostList, "/") { // a Unix socket's directory
		return path.Join(hostList, ".s.PGSQL."+strconv.Itoa(port)), 0, database
	}
	return hostList, port, database
}

// keyValues reads libpq's key = value pairs, values maybe single-quoted with
// backslash escapes.
func keyValues(s string) map[string]string {
	settings := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		if s == "" {
			return settings
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return settings
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n\r")
		var value strings.Builder
		if strings.HasPrefix(s, "'") {
			i := 1
			for ; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				value.WriteByte(s[i])
			}
			s = s[min(i+1, len(s)):]
		} else {
			end := strings.IndexAny(s, " \t\n\r")
			if end < 0 {
				end = len(s)
			}
			value.WriteString(s[:end])
			s = s[end:]
		}
		settings[key] = value.String()
	}
}

// SQLite reads the data source name of an SQLite driver (mattn/go-sqlite3,
// modernc.org/sqlite): the database file, as the program named it (a path,
// a file: URI's path, ":memory:"), without the URI's scheme and parameters.
func SQLite(s string) string {
	if rest, ok := strings.CutPrefix(s, "file:"); ok {
		s = rest
		if strings.HasPrefix(s, "//") { // file://host/path: host is empty or localhost
			slash := strings.IndexByte(s[2:], '/')
			if slash < 0 {
				return ""
			}
			s = s[2+slash:]
		}
		if end := strings.IndexAny(s, "?#"); end >= 0 {
			s = s[:end]
		}
		if unescaped, err := url.PathUnescape(s); err == nil {
			s = unescaped
		}
		return s
	}
	if end := strings.IndexByte(s, '?'); end >= 0 {
		s = s[:end]
	}
	return s
}
