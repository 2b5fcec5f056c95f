package estrace

import (
	"bytes"
	"encoding/json"
)

// bulkOps is what a bulk request's body holds: each operation's action
// (index, create, update, delete) and the index its action line names, if
// any. The documents are skipped unread.
type bulkOps struct {
	actions []string
	indices []string // "" where the action names none (the path's index)
}

// readBulk reads a bulk body (NDJSON: an action line, then, but for delete,
// the document's line); false if it is not one.
func readBulk(body []byte) (*bulkOps, bool) {
	ops := &bulkOps{}
	next := func() []byte { // the next line that is not blank
		for len(body) > 0 {
			var line []byte
			line, body, _ = bytes.Cut(body, []byte{'\n'})
			if line = bytes.TrimSpace(line); len(line) > 0 {
				return line
			}
		}
		return nil
	}
	for line := next(); line != nil; line = next() {
		var action map[string]struct {
			Index string `json:"_index"`
		}
		if err := json.Unmarshal(line, &action); err != nil || len(action) != 1 {
			return nil, false
		}
		for name, meta := range action {
			switch name {
			case "index", "create", "update":
				if next() == nil { // the document
					return nil, false
				}
			case "delete":
			default:
				return nil, false
			}
			ops.actions = append(ops.actions, name)
			ops.indices = append(ops.indices, meta.Index)
		}
	}
	return ops, true
}

// operation is db.operation.name: "bulk" and the operations' action when
// they all have the same (the conventions: "bulk index").
func (ops *bulkOps) operation() string {
	if len(ops.actions) == 0 {
		return "bulk"
	}
	for _, a := range ops.actions[1:] {
		if a != ops.actions[0] {
			return "bulk"
		}
	}
	return "bulk " + ops.actions[0]
}

// index is the index every operation names, or "" (none names one, or they
// name different ones, or some leave it to the path).
func (ops *bulkOps) index() string {
	if len(ops.indices) == 0 {
		return ""
	}
	for _, i := range ops.indices[1:] {
		if i != ops.indices[0] {
			return ""
		}
	}
	return ops.indices[0]
}
