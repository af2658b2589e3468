package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// maxBody bounds a response body the generator reads.
const maxBody = 1 << 20

var errMalformed = errors.New("loadgen: malformed HTTP response")

// conn is one keep-alive HTTP/1.1 connection with one request in flight.
type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	body []byte // reused body buffer
}

func dial(addr string) (*conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: dial: %w", err)
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

func (c *conn) Close() error { return c.nc.Close() }

// response is what round trip reads: the status, the body (valid until the
// next round trip) and whether the server asked to close the connection.
type response struct {
	status int
	body   []byte
	close  bool
}

// roundTrip writes a complete request and reads its response (RFC 9112 4,
// 6). It understands Content-Length and chunked bodies.
func (c *conn) roundTrip(req []byte) (response, error) {
	if _, err := c.nc.Write(req); err != nil {
		return response{}, fmt.Errorf("loadgen: write: %w", err)
	}
	line, err := c.line()
	if err != nil {
		return response{}, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return response{}, errMalformed
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return response{}, errMalformed
	}
	resp := response{status: status, close: line[7] == '0'}
	length, chunked := -1, false
	for {
		h, err := c.line()
		if err != nil {
			return response{}, err
		}
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return response{}, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || n > maxBody {
				return response{}, errMalformed
			}
			length = n
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "connection"):
			if asciiEqualFold(value, "close") {
				resp.close = true
			}
		}
	}
	switch {
	case chunked:
		resp.body, err = c.readChunked()
	case length >= 0:
		resp.body, err = c.readN(length)
	default:
		// A body delimited by the end of the connection (RFC 9112 6.3).
		resp.body, err = io.ReadAll(io.LimitReader(c.br, maxBody))
		resp.close = true
	}
	if err != nil {
		return response{}, err
	}
	return resp, nil
}

// line reads one CRLF-terminated line without its terminator.
func (c *conn) line() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errMalformed
		}
		return nil, fmt.Errorf("loadgen: read: %w", err)
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func (c *conn) readN(n int) ([]byte, error) {
	if cap(c.body) < n {
		c.body = make([]byte, n)
	}
	c.body = c.body[:n]
	if _, err := io.ReadFull(c.br, c.body); err != nil {
		return nil, fmt.Errorf("loadgen: read body: %w", err)
	}
	return c.body, nil
}

// readChunked reads a chunked body (RFC 9112 7.1), ignoring extensions and
// trailers.
func (c *conn) readChunked() ([]byte, error) {
	c.body = c.body[:0]
	for {
		line, err := c.line()
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || n < 0 || len(c.body)+int(n) > maxBody {
			return nil, errMalformed
		}
		if n == 0 {
			for {
				t, err := c.line()
				if err != nil {
					return nil, err
				}
				if len(t) == 0 {
					return c.body, nil
				}
			}
		}
		start := len(c.body)
		c.body = append(c.body, make([]byte, n)...)
		if _, err := io.ReadFull(c.br, c.body[start:]); err != nil {
			return nil, fmt.Errorf("loadgen: read chunk: %w", err)
		}
		if crlf, err := c.line(); err != nil || len(crlf) != 0 {
			return nil, errMalformed
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
