package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/outcome"
)

// RetryHint is implemented by an error that knows how long the client
// should wait before trying again, such as a rate limiter's refusal. When
// the outcome of an error passed to WriteError is rate_limited and an error
// in its chain implements RetryHint (found with errors.As), the response
// carries Retry-After in whole seconds, rounded up. The limiter defines the
// error type; it does not import web.
type RetryHint interface {
	RetryAfter() time.Duration
}

// statusError gives an outcome a status other than its code's: a
// cross-origin refusal or an oversized body is an invalid request, but the
// protocol has a more precise status for it.
type statusError struct {
	status int
	err    *outcome.Error
}

func withStatus(status int, err *outcome.Error) *statusError {
	return &statusError{status: status, err: err}
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// errorBody is the JSON shape of an error for API and OAuth clients.
type errorBody struct {
	Error     outcome.Code `json:"error"`
	Message   string       `json:"message"`
	RequestID string       `json:"request_id,omitempty"`
}

// errorPage is what the error template shows.
type errorPage struct {
	Heading   string
	Sentence  string
	Code      outcome.Code
	RequestID string
	StartURL  string
}

// WriteError is the one place an error becomes a response. The status and
// the sentence come from the error's outcome (outcome.From: an error with
// none is Internal). Clients that want JSON get
// {"error", "message", "request_id"}; browsers get a small page with the
// sentence, the request id and a link to start again. Causes are logged,
// never shown: a 5xx at Error level, anything else at Debug.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		err = errors.New("web: WriteError called with a nil error")
	}
	id := RequestID(r.Context())
	if id == "" {
		id = w.Header().Get(requestIDHeader)
	}
	if started(w) {
		// Too late for another status: log it and leave the response be.
		s.log.LogAttrs(r.Context(), slog.LevelError, "error after the response started",
			slog.String("outcome", string(outcome.CodeOf(err))),
			slog.String("err", err.Error()),
			slog.String("route", routeLabel(r)),
			slog.String("request_id", id))
		return
	}
	status := s.render(w, r, err, id)
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	if s.log.Enabled(r.Context(), level) {
		s.log.LogAttrs(r.Context(), level, "request failed",
			slog.String("outcome", string(outcome.CodeOf(err))),
			slog.Int("status", status),
			slog.String("err", err.Error()),
			slog.String("route", routeLabel(r)),
			slog.String("request_id", id))
	}
}

// started reports whether w, or a writer it wraps, has sent its status.
func started(w http.ResponseWriter) bool {
	for {
		switch v := w.(type) {
		case *recorder:
			return v.wroteHeader
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return false
		}
	}
}

// render writes the response for err and returns its status; it logs
// nothing, so that recoverPanics can log a panic once, with its stack.
func (s *Server) render(w http.ResponseWriter, r *http.Request, err error, id string) int {
	oe, status := classify(err)
	sentence := oe.Sentence()
	if oe.Code == outcome.Internal {
		sentence = oe.Code.Sentence() // whatever the message, our failures show only the default
	}

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if oe.Code == outcome.RateLimited {
		var hint RetryHint
		if errors.As(err, &hint) {
			if d := hint.RetryAfter(); d > 0 {
				h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
			}
		}
	}

	var body bytes.Buffer
	if wantsJSON(r) {
		h.Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(&body).Encode(errorBody{Error: oe.Code, Message: sentence, RequestID: id})
	} else {
		page := errorPage{Heading: heading(status), Sentence: sentence, Code: oe.Code, RequestID: id, StartURL: s.startURL}
		if terr := s.executePage(&body, "error", page); terr != nil {
			// The template is embedded and tested; should it fail anyway,
			// plain text still tells the person what happened.
			s.log.LogAttrs(r.Context(), slog.LevelError, "render error page", slog.String("err", terr.Error()))
			body.Reset()
			body.WriteString(sentence + "\n")
			h.Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			h.Set("Content-Type", "text/html; charset=utf-8")
		}
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body.Bytes())
	}
	return status
}

// classify finds err's outcome and status. A body over the limit is 413
// wherever the read happened. A code outside the vocabulary, or a success
// code handed in as an error, is a bug of ours and answers as Internal.
func classify(err error) (*outcome.Error, int) {
	var se *statusError
	if errors.As(err, &se) {
		return se.err, se.status
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge.err, errTooLarge.status
	}
	oe := outcome.From(err)
	if !oe.Code.Known() || oe.Code.Success() {
		oe = outcome.Wrap(outcome.Internal, err)
	}
	return oe, oe.Code.Status()
}

// wantsJSON reports whether the client should get JSON: API and OAuth
// paths always, and any request whose Accept names application/json (with
// a non-zero quality). Browsers navigating never do.
func wantsJSON(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || (strings.HasPrefix(p, "/oauth2/") && !isBrowserOAuthPath(p)) {
		return true
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != "application/json" {
			continue
		}
		if q, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				continue
			}
		}
		return true
	}
	return false
}

// heading is the page title: a plain phrase for the kind of failure, so the
// sentence below it can say what to do.
func heading(status int) string {
	switch {
	case status == http.StatusNotFound:
		return "Page not found"
	case status == http.StatusTooManyRequests:
		return "Please wait a moment"
	case status >= 500:
		return "Something went wrong"
	default:
		return "We could not continue"
	}
}
