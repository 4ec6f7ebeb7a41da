package admin

import (
	"net/http"
	"reflect"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"
)

// handleStats answers GET /api/v1/stats: the server's counters (what it
// received from displays, what it dropped and why, its MQTT client's and
// the embedded broker's queues), for monitoring and for tests. Field names
// are the Go counters' names in snake_case, so a counter added in its
// package appears here without a change.
func (s *Server) handleStats(c echo.Context) error {
	var out any = map[string]any{}
	if s.stats != nil {
		out = snakeJSON(reflect.ValueOf(s.stats()))
	}
	if m, ok := out.(map[string]any); ok {
		m["audit"] = s.audit.stats() // entries appended and lost (audit.go)
	}
	return c.JSON(http.StatusOK, out)
}

// snakeJSON converts v (structs, maps, slices and scalars) into values that
// encode as JSON objects with snake_case keys. Nil pointers become null.
func snakeJSON(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return snakeJSON(v.Elem())
	case reflect.Struct:
		out := make(map[string]any, v.NumField())
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			out[snakeCase(f.Name)] = snakeJSON(v.Field(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			out[snakeCase(it.Key().String())] = snakeJSON(it.Value())
		}
		return out
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = snakeJSON(v.Index(i))
		}
		return out
	default:
		return v.Interface()
	}
}

// snakeCase turns a Go identifier into snake_case: "MQTTClient" →
// "mqtt_client", "BatchesDropped" → "batches_dropped".
func snakeCase(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]) ||
				(i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}
