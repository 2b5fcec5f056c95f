package mongotracev2

import (
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// commandAttributes are a command span's name and attributes.
func commandAttributes(command, database, collection, connection string) (string, []attribute.KeyValue) {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, semconv.DBSystemNameMongoDB, semconv.DBOperationName(command))
	target := database
	if database != "" {
		attrs = append(attrs, semconv.DBNamespace(database))
	}
	if collection != "" {
		attrs = append(attrs, semconv.DBCollectionName(collection))
		target = collection
	}
	attrs = append(attrs, serverAttributes(connection)...)
	if target == "" {
		return command, attrs
	}
	return command + " " + target, attrs
}

// collection is the collection a command acts on, "" when it acts on none
// (ping, listCollections, an aggregate on the database, endSessions): the
// value of the command's first field, named after the command ({find:
// "orders", filter: ...}) when it is a string; a getMore's "collection".
func collection(evt *event.CommandStartedEvent) string {
	first, err := evt.Command.IndexErr(0)
	if err != nil {
		return ""
	}
	if key, err := first.KeyErr(); err != nil || key != evt.CommandName {
		return ""
	}
	if evt.CommandName == "getMore" {
		value, err := evt.Command.LookupErr("collection")
		if err != nil {
			return ""
		}
		name, _ := value.StringValueOK()
		return name
	}
	value, err := first.ValueErr()
	if err != nil || value.Type != bson.TypeString {
		return ""
	}
	name, _ := value.StringValueOK()
	return name
}

// serverAttributes are server.address and server.port, from the name the
// driver gives a connection: the server's address as the client was
// configured with it ("db.internal:27017", "[::1]:27017", a socket's path),
// then "[-N]", the connection's number.
func serverAttributes(connection string) []attribute.KeyValue {
	address := connection
	if i := strings.LastIndex(address, "[-"); i >= 0 && strings.HasSuffix(address, "]") {
		address = address[:i]
	}
	if address == "" {
		return nil
	}
	if strings.HasSuffix(address, ".sock") || strings.HasPrefix(address, "/") {
		return []attribute.KeyValue{semconv.ServerAddress(address)}
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil { // no port: the driver's default one
		return []attribute.KeyValue{semconv.ServerAddress(address), semconv.ServerPort(27017)}
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(host)}
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(n))
	}
	return attrs
}

// failure is how a command failed, as its span records it.
type failure struct {
	code        string // db.response.status_code, "" when not known
	kind        string // error.type
	description string // the status message
}

func (f failure) attributes() []attribute.KeyValue {
	if f.code == "" {
		return []attribute.KeyValue{semconv.ErrorTypeKey.String(f.kind)}
	}
	return []attribute.KeyValue{semconv.DBResponseStatusCode(f.code), semconv.ErrorTypeKey.String(f.kind)}
}

// commandFailure is the failure of a command the server refused (an error
// with the server's code and code name) or that got no answer (a network
// error, a timeout: the driver's own error, which quotes no document).
func commandFailure(err error) failure {
	var refused driver.Error
	if errors.As(err, &refused) && refused.Code != 0 {
		code := strconv.Itoa(int(refused.Code))
		if isCodeName(refused.Name) {
			return failure{code: code, kind: code, description: refused.Name}
		}
		return failure{code: code, kind: code, description: "error " + code}
	}
	if err == nil {
		return failure{kind: "_OTHER", description: "failed"}
	}
	cause := err
	if errors.As(err, &refused) && refused.Wrapped != nil {
		cause = refused.Wrapped
	}
	return failure{kind: reflect.TypeOf(cause).String(), description: strings.TrimSpace(err.Error())}
}

// replyFailure is the failure a successful command's reply reports: the
// first write error (a duplicate key...), else a write-concern error.
func replyFailure(reply bson.Raw) (failure, bool) {
	if writeErrors, err := reply.LookupErr("writeErrors"); err == nil {
		if list, ok := writeErrors.ArrayOK(); ok {
			if first, err := list.IndexErr(0); err == nil {
				if doc, ok := first.DocumentOK(); ok {
					return codeFailure(doc, "write error"), true
				}
			}
		}
	}
	if concern, err := reply.LookupErr("writeConcernError"); err == nil {
		if doc, ok := concern.DocumentOK(); ok {
			return codeFailure(doc, "write concern error"), true
		}
	}
	return failure{}, false
}

// codeFailure is the failure an error document ({code, codeName, errmsg})
// describes; what is its description when it has no code name.
func codeFailure(doc bson.Raw, what string) failure {
	code := ""
	if value, err := doc.LookupErr("code"); err == nil {
		if n, ok := value.AsInt64OK(); ok {
			code = strconv.FormatInt(n, 10)
		}
	}
	name := ""
	if value, err := doc.LookupErr("codeName"); err == nil {
		if s, ok := value.StringValueOK(); ok && isCodeName(s) {
			name = s
		}
	}
	switch {
	case code == "" && name == "":
		return failure{kind: semconv.ErrorTypeOther.Value.AsString(), description: what}
	case code == "":
		return failure{kind: name, description: name}
	case name == "":
		return failure{code: code, kind: code, description: what + " " + code}
	}
	return failure{code: code, kind: code, description: name}
}

// isCodeName: MongoDB's error code names are words ("DuplicateKey").
func isCodeName(s string) bool {
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
