package genai

import (
	"bytes"
	"io"
	"sync"
)

// maxLine is the longest line of a stream that is read for the span: a
// longer one (a huge completion chunk) is passed to the client unread.
const maxLine = 1 << 20

// stream is the body of a server-sent-event answer: what the client reads
// passes through unchanged, its events are read for the span on the way,
// which ends when the stream does (EOF, a read error, or Close).
type stream struct {
	inner io.ReadCloser
	call  *call

	mu     sync.Mutex
	events Events
}

func (s *stream) Read(p []byte) (int, error) {
	n, err := s.inner.Read(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 0 {
		s.events.Write(p[:n], s.event)
	}
	switch {
	case err == io.EOF:
		s.events.Flush(s.event)
		s.call.end()
	case err != nil:
		s.call.fail(err)
	}
	return n, err
}

func (s *stream) Close() error {
	s.mu.Lock()
	s.events.Flush(s.event)
	s.call.end() // a stream closed early: what it told so far
	s.mu.Unlock()
	return s.inner.Close()
}

// event reads one event's data.
func (s *stream) event(name string, data []byte) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' { // OpenAI's "[DONE]", pings
		return
	}
	if name == "error" {
		s.call.answer(500, data)
		return
	}
	s.call.answer(200, data)
}

// Events splits a server-sent-event stream into events (the WHATWG event
// stream format: "event:" and "data:" lines, a blank line ends an event), as
// its bytes come.
type Events struct {
	line    []byte
	name    string
	data    []byte
	hasData bool
	tooLong bool
}

// Write reads p, the stream's next bytes, and calls emit with each event it
// completes: its name ("" when the event has none) and its data.
func (e *Events) Write(p []byte, emit func(name string, data []byte)) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			e.add(p)
			return
		}
		e.add(p[:i])
		p = p[i+1:]
		e.endLine(emit)
	}
}

func (e *Events) add(p []byte) {
	if e.tooLong {
		return
	}
	if len(e.line)+len(p) > maxLine {
		e.tooLong, e.line = true, e.line[:0]
		return
	}
	e.line = append(e.line, p...)
}

func (e *Events) endLine(emit func(string, []byte)) {
	line := bytes.TrimSuffix(e.line, []byte{'\r'})
	tooLong := e.tooLong
	e.line, e.tooLong = e.line[:0], false
	if tooLong {
		return
	}
	if len(line) == 0 {
		if e.hasData {
			emit(e.name, e.data)
		}
		e.name, e.data, e.hasData = "", e.data[:0], false
		return
	}
	field, value, _ := bytes.Cut(line, []byte{':'})
	value = bytes.TrimPrefix(value, []byte{' '})
	switch string(field) {
	case "event":
		e.name = string(value)
	case "data":
		if e.hasData {
			e.data = append(e.data, '\n')
		}
		e.data = append(e.data, value...)
		e.hasData = true
	}
}

// Flush emits the event the stream ended in, if it was not ended by a blank
// line.
func (e *Events) Flush(emit func(string, []byte)) {
	if len(e.line) > 0 {
		e.endLine(emit)
	}
	e.endLine(emit)
}
