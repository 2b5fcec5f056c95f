package redigotrace

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
)

// reader reads the commands redigo writes during a dial's handshake: RESP
// arrays of bulk strings.
type reader struct{ r *bufio.Reader }

func newReader(conn net.Conn) reader { return reader{bufio.NewReader(conn)} }

// Handshake commands are a few short words: anything larger is refused.
const (
	maxArgs    = 16
	maxArgSize = 4096
)

var errProtocol = errors.New("redigotrace: not a handshake command")

// command is the next command's arguments, its name first.
func (r reader) command() ([]string, error) {
	n, err := r.header('*', maxArgs)
	if err != nil {
		return nil, err
	}
	args := make([]string, 0, n)
	for range n {
		size, err := r.header('$', maxArgSize)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r.r, buf); err != nil {
			return nil, err
		}
		if string(buf[size:]) != "\r\n" {
			return nil, errProtocol
		}
		args = append(args, string(buf[:size]))
	}
	return args, nil
}

// header reads a line "<kind><n>\r\n", 0 <= n <= limit.
func (r reader) header(kind byte, limit int) (int, error) {
	line, err := r.r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if len(line) < 2 || line[0] != kind {
		return 0, errProtocol
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 || n > limit {
		return 0, errProtocol
	}
	return n, nil
}
