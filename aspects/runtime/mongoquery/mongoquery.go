// Package mongoquery names the spans of MongoDB commands and describes their
// failures, for the database semantic conventions: the span name
// ("find orders", "ping admin"), db.system.name, db.operation.name,
// db.namespace, db.collection.name, server.address and server.port from the
// driver's connection name, and for a failure db.response.status_code,
// error.type and a status message that quotes nothing the server echoed
// (MongoDB's messages quote the documents: "dup key: { _id: ... }").
//
// Both MongoDB integrations (mongo-driver v1 and v2) name their spans
// through it, so that one command reads alike whichever driver sent it; what
// they read out of the driver's events (BSON, error types) stays in each, as
// the two drivers' types differ. The attribute names are the conventions'
// (v1.26 and later): the runtime's module stays at the oldest OpenTelemetry
// release it supports, whose semconv packages are older.
package mongoquery

import (
	"net"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// DefaultPort is the port a MongoDB driver dials when the address names none.
const DefaultPort = 27017

// Command is a command span's name and attributes: command is the command's
// name ("find"), database the database it runs in, collection the collection
// it acts on ("" for none), connection the name the driver gives the
// connection it runs on.
func Command(command, database, collection, connection string) (string, []attribute.KeyValue) {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, attribute.String("db.system.name", "mongodb"), attribute.String("db.operation.name", command))
	target := database
	if database != "" {
		attrs = append(attrs, attribute.String("db.namespace", database))
	}
	if collection != "" {
		attrs = append(attrs, attribute.String("db.collection.name", collection))
		target = collection
	}
	attrs = append(attrs, Server(connection)...)
	if target == "" {
		return command, attrs
	}
	return command + " " + target, attrs
}

// Server is server.address and server.port, from the name a driver gives a
// connection: the server's address as the client was configured with it
// ("db.internal:27017", "[::1]:27017", a socket's path), then "[-N]", the
// connection's number.
func Server(connection string) []attribute.KeyValue {
	address := connection
	if i := strings.LastIndex(address, "[-"); i >= 0 && strings.HasSuffix(address, "]") {
		address = address[:i]
	}
	if address == "" {
		return nil
	}
	if strings.HasSuffix(address, ".sock") || strings.HasPrefix(address, "/") {
		return []attribute.KeyValue{attribute.String("server.address", address)}
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil { // no port: the driver's default one
		return []attribute.KeyValue{attribute.String("server.address", address), attribute.Int("server.port", DefaultPort)}
	}
	attrs := []attribute.KeyValue{attribute.String("server.address", host)}
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, attribute.Int("server.port", n))
	}
	return attrs
}

// Failure is how a command failed, as its span records it.
type Failure struct {
	Code        string // db.response.status_code, "" when not known
	Kind        string // error.type
	Description string // the status message
}

// Attributes are the failure's span attributes.
func (f Failure) Attributes() []attribute.KeyValue {
	if f.Code == "" {
		return []attribute.KeyValue{attribute.String("error.type", f.Kind)}
	}
	return []attribute.KeyValue{attribute.String("db.response.status_code", f.Code), attribute.String("error.type", f.Kind)}
}

// Other is a failure without a code: error.type "_OTHER".
func Other(description string) Failure {
	return Failure{Kind: "_OTHER", Description: description}
}

// Coded is the failure an error document or error describes by its numeric
// code ("11000", "" when it has none) and its code name ("DuplicateKey",
// "" when it has none, or one that is not a code name); what says what
// failed ("write error") for the description of a failure without a name.
func Coded(code, name, what string) Failure {
	if !IsCodeName(name) {
		name = ""
	}
	switch {
	case code == "" && name == "":
		return Other(what)
	case code == "":
		return Failure{Kind: name, Description: name}
	case name == "":
		return Failure{Code: code, Kind: code, Description: what + " " + code}
	}
	return Failure{Code: code, Kind: code, Description: name}
}

// IsCodeName reports whether s can be one of MongoDB's error code names,
// which are words ("DuplicateKey", "BadValue").
func IsCodeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}
