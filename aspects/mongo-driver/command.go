package mongotrace

import (
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/event"
	"overlay-gen.invalid/otelrt/mongoquery"
)

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
	if err != nil || value.Type != bsontype.String {
		return ""
	}
	name, _ := value.StringValueOK()
	return name
}

// commandFailure is the failure of a command the server refused or that got
// no answer, from the text the driver gives monitors: "(CodeName) message"
// for the server's refusals, the driver's own message for the others (a
// network error, a timeout), which quotes no document.
func commandFailure(text string) mongoquery.Failure {
	if rest, ok := strings.CutPrefix(text, "("); ok {
		if name, _, ok := strings.Cut(rest, ")"); ok && mongoquery.IsCodeName(name) {
			return mongoquery.Coded("", name, "")
		}
	}
	return mongoquery.Other(strings.TrimSpace(text))
}

// replyFailure is the failure a successful command's reply reports: the
// first write error (a duplicate key...), else a write-concern error.
func replyFailure(reply bson.Raw) (mongoquery.Failure, bool) {
	if writeErrors, err := reply.LookupErr("writeErrors"); err == nil {
		if list, ok := writeErrors.ArrayOK(); ok {
			if first, err := list.IndexErr(0); err == nil {
				if value, err := first.ValueErr(); err == nil {
					if doc, ok := value.DocumentOK(); ok {
						return codeFailure(doc, "write error"), true
					}
				}
			}
		}
	}
	if concern, err := reply.LookupErr("writeConcernError"); err == nil {
		if doc, ok := concern.DocumentOK(); ok {
			return codeFailure(doc, "write concern error"), true
		}
	}
	return mongoquery.Failure{}, false
}

// codeFailure is the failure an error document ({code, codeName, errmsg})
// describes; what is its description when it has no code name.
func codeFailure(doc bson.Raw, what string) mongoquery.Failure {
	code := ""
	if value, err := doc.LookupErr("code"); err == nil {
		if n, ok := value.AsInt64OK(); ok {
			code = strconv.FormatInt(n, 10)
		}
	}
	name := ""
	if value, err := doc.LookupErr("codeName"); err == nil {
		name, _ = value.StringValueOK()
	}
	return mongoquery.Coded(code, name, what)
}
