// Package sqlquery tells what a SQL statement does, for the span names and
// attributes of the database semantic conventions: its operation (SELECT,
// INSERT...) and the first table it names, which make its summary,
// db.query.summary, "{operation} {table}" ("SELECT orders"), the name of its
// span. Every SQL integration (database/sql, pgx, gorm) summarizes statements
// through it, so that one statement is named alike whichever library ran it.
//
// The table read from a statement goes into the summary only: the conventions
// ask that db.collection.name not be taken from the query text of a database
// whose statements may name several tables, as SQL's do; it is for the tables
// a library's API names itself (pgx's CopyFrom).
//
// It reads the statement's first words only, never its values, and answers
// nothing it is unsure of: a statement it does not know gets its first
// keyword as operation and no table.
package sqlquery

import (
	"strings"
	"unicode"
)

// Summary is what a statement does.
type Summary struct {
	Operation string // upper-cased first keyword: "SELECT"; "" for an empty statement
	Table     string // the first table it names, as written (unquoted): "orders", "shop.orders"; "" if none is sure
}

// String is the summary as db.query.summary and the span name have it:
// "{operation} {table}" ("SELECT orders"), the operation alone ("BEGIN"), or
// "" when the statement says nothing.
func (s Summary) String() string {
	switch {
	case s.Operation == "":
		return ""
	case s.Table == "":
		return s.Operation
	}
	return s.Operation + " " + s.Table
}

// SpanName is the summary (String), or fallback when the statement says
// nothing.
func (s Summary) SpanName(fallback string) string {
	if text := s.String(); text != "" {
		return text
	}
	return fallback
}

// tableAfter says, for an operation, the keyword its table follows ("" for
// the word right after the operation), and the words that may come between.
var tableAfter = map[string]struct {
	keyword string
	skip    []string
}{
	"SELECT":   {"FROM", nil},
	"DELETE":   {"FROM", nil},
	"INSERT":   {"INTO", nil},
	"REPLACE":  {"INTO", nil},
	"UPDATE":   {"", []string{"ONLY", "LOW_PRIORITY", "IGNORE"}},
	"MERGE":    {"INTO", nil},
	"TRUNCATE": {"", []string{"TABLE", "ONLY"}},
	"COPY":     {"", nil},
	"CREATE":   {"TABLE", []string{"IF", "NOT", "EXISTS"}},
	"DROP":     {"TABLE", []string{"IF", "EXISTS"}},
	"ALTER":    {"TABLE", []string{"IF", "EXISTS", "ONLY"}},
}

// Summarize reads a statement's operation and first table.
func Summarize(query string) Summary {
	words := scanner{text: query}
	first, _ := words.next()
	operation := strings.ToUpper(first)
	if !isKeyword(operation) {
		return Summary{}
	}
	rule, ok := tableAfter[operation]
	if !ok {
		return Summary{Operation: operation}
	}
	if rule.keyword != "" && !words.skipTo(rule.keyword, operation == "SELECT" || operation == "DELETE") {
		return Summary{Operation: operation}
	}
	for {
		word, quoted := words.next()
		upper := strings.ToUpper(word)
		if !quoted && contains(rule.skip, upper) {
			continue
		}
		if word == "" || word == "(" || (!quoted && !isIdentifier(word)) {
			return Summary{Operation: operation}
		}
		return Summary{Operation: operation, Table: words.qualified(word)}
	}
}

func contains(words []string, word string) bool {
	for _, w := range words {
		if w == word {
			return true
		}
	}
	return false
}

func isKeyword(word string) bool {
	if word == "" {
		return false
	}
	for _, r := range word {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func isIdentifier(word string) bool {
	for i, r := range word {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && (unicode.IsDigit(r) || r == '$'))) {
			return false
		}
	}
	return word != ""
}

// scanner reads a statement's words, skipping spaces and comments:
// identifiers and keywords, quoted identifiers ("x", `x`, [x]) unquoted,
// and any other character alone.
type scanner struct {
	text string
	pos  int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.text) {
		rest := s.text[s.pos:]
		switch {
		case rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r':
			s.pos++
		case strings.HasPrefix(rest, "--"):
			end := strings.IndexByte(rest, '\n')
			if end < 0 {
				s.pos = len(s.text)
			} else {
				s.pos += end + 1
			}
		case strings.HasPrefix(rest, "/*"):
			end := strings.Index(rest[2:], "*/")
			if end < 0 {
				s.pos = len(s.text)
			} else {
				s.pos += end + 4
			}
		default:
			return
		}
	}
}

// next is the next word, and whether it was quoted.
func (s *scanner) next() (string, bool) {
	s.skipSpace()
	if s.pos >= len(s.text) {
		return "", false
	}
	rest := s.text[s.pos:]
	if closing, ok := map[byte]byte{'"': '"', '`': '`', '[': ']'}[rest[0]]; ok {
		end := strings.IndexByte(rest[1:], closing)
		if end < 0 {
			s.pos = len(s.text)
			return "", false
		}
		s.pos += end + 2
		return rest[1 : end+1], true
	}
	if rest[0] == '\'' { // a string literal: a value, never returned
		end := strings.IndexByte(rest[1:], '\'')
		if end < 0 {
			s.pos = len(s.text)
		} else {
			s.pos += end + 2
		}
		return "?", false
	}
	end := strings.IndexFunc(rest, func(r rune) bool {
		return !(r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r))
	})
	if end == 0 {
		s.pos++
		return rest[:1], false
	}
	if end < 0 {
		end = len(rest)
	}
	s.pos += end
	return rest[:end], false
}

// skipTo moves past the next unquoted keyword at the statement's top level
// (not inside parentheses), reporting whether there was one. With
// topLevelOnly, a keyword inside parentheses before it does not count
// (SELECT (SELECT 1 FROM a) FROM b names b).
func (s *scanner) skipTo(keyword string, topLevelOnly bool) bool {
	depth := 0
	for {
		word, quoted := s.next()
		switch {
		case word == "":
			return false
		case quoted:
		case word == "(":
			depth++
		case word == ")":
			depth--
		case word == ";":
			return false
		case strings.EqualFold(word, keyword) && (depth == 0 || !topLevelOnly):
			return true
		}
	}
}

// qualified is first with the ".name" parts that follow it: shop.orders.
func (s *scanner) qualified(first string) string {
	name := first
	for {
		save := s.pos
		if dot, _ := s.next(); dot != "." {
			s.pos = save
			return name
		}
		part, _ := s.next()
		if part == "" {
			return name
		}
		name += "." + part
	}
}
