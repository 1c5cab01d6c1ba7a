package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// JSON Schemas of the request and response bodies, read from the Go types
// by reflection (the OpenAPI document's components/schemas):
//
//   - the json tag names a property; a response property is required unless
//     it is omitempty, and a pointer one that is not omitempty may be null;
//   - a request body refuses unknown properties, and a property is required
//     when its schema tag says so;
//   - the doc tag is the property's description, and the schema tag adds
//     "required", "format=uuid", "enum=a b c" or "pattern=^...$"
//     (comma-separated);
//   - uuid.UUID is a string of format uuid, time.Time one of format
//     date-time, json.RawMessage an object, int64 an integer of format
//     int64; a nested struct is inline, an embedded one is an allOf of its
//     schema and the rest;
//   - a type is named for its Go name less "JSON", first letter up
//     (projectJSON is Project, apiKeyInput APIKeyInput), and listJSON[T]
//     is T's name and "List";
//   - a type with a schemaDoc method has that description.

// schema is a JSON Schema, as much of one as the document uses.
type schema struct {
	Ref                  string   `json:"$ref,omitempty"`
	AllOf                []schema `json:"allOf,omitempty"`
	Type                 any      `json:"type,omitempty"` // a name, or [name, "null"]
	Format               string   `json:"format,omitempty"`
	Pattern              string   `json:"pattern,omitempty"`
	Enum                 []any    `json:"enum,omitempty"`
	Default              any      `json:"default,omitempty"`
	Minimum              *int     `json:"minimum,omitempty"`
	Maximum              *int     `json:"maximum,omitempty"`
	MinLength            *int     `json:"minLength,omitempty"`
	MaxLength            *int     `json:"maxLength,omitempty"`
	Items                *schema  `json:"items,omitempty"`
	Properties           ordered  `json:"properties,omitempty"`
	Required             []string `json:"required,omitempty"`
	AdditionalProperties *bool    `json:"additionalProperties,omitempty"`
	Description          string   `json:"description,omitempty"`
}

// documented is a body type with a description of its own.
type documented interface{ schemaDoc() string }

// ordered is a JSON object that keeps its keys in order.
type ordered []keyValue

type keyValue struct {
	key   string
	value any
}

func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.key)
		v, err := marshal(kv.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kv.key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// get returns the value under key, if any.
func (o ordered) get(key string) (any, bool) {
	for _, kv := range o {
		if kv.key == key {
			return kv.value, true
		}
	}
	return nil, false
}

// marshal is json.Marshal without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// schemas collects the named schemas the document refers to.
type schemas struct {
	named ordered
	types map[string]reflect.Type // the type each name was made from
	err   error
}

var (
	uuidType    = reflect.TypeFor[uuid.UUID]()
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

// ref returns a $ref to the schema of v's type, adding it (a request body's
// when input) on first use.
func (c *schemas) ref(v any, input bool) schema {
	t := reflect.TypeOf(v)
	name := schemaName(t)
	ref := schema{Ref: "#/components/schemas/" + name}
	if seen, ok := c.types[name]; ok {
		if seen != t {
			c.err = fmt.Errorf("types %s and %s both make schema %s", seen, t, name)
		}
		return ref
	}
	if c.types == nil {
		c.types = map[string]reflect.Type{}
	}
	c.types[name] = t
	c.named = append(c.named, keyValue{name, nil})
	s := c.object(t, input)
	if d, ok := v.(documented); ok {
		s.Description = d.schemaDoc()
	}
	for i := range c.named {
		if c.named[i].key == name {
			c.named[i].value = s
		}
	}
	return ref
}

// schemaName is the name of t's schema.
func schemaName(t reflect.Type) string {
	if isList(t) {
		return schemaName(t.Field(0).Type.Elem()) + "List"
	}
	name := strings.TrimSuffix(t.Name(), "JSON")
	if rest, ok := strings.CutPrefix(name, "api"); ok {
		return "API" + rest
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// isList reports whether t is a listJSON[T].
func isList(t reflect.Type) bool { return strings.HasPrefix(t.Name(), "listJSON[") }

// object is the schema of struct type t.
func (c *schemas) object(t reflect.Type, input bool) schema {
	s := schema{Type: "object"}
	if input {
		no := false
		s.AdditionalProperties = &no
	}
	var own schema
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			s.AllOf = append(s.AllOf, c.ref(reflect.Zero(f.Type).Interface(), input))
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		omitempty := strings.Contains(opts, "omitempty")
		var p schema
		if isList(t) && name == "items" {
			item := c.ref(reflect.Zero(f.Type.Elem()).Interface(), input)
			p = schema{Type: "array", Items: &item}
		} else {
			p = c.property(f.Type, input, !input && !omitempty)
		}
		p.Description = f.Tag.Get("doc")
		required := !input && !omitempty
		for _, opt := range strings.Split(f.Tag.Get("schema"), ",") {
			key, val, _ := strings.Cut(opt, "=")
			switch key {
			case "":
			case "required":
				required = true
			case "format":
				p.Format = val
			case "pattern":
				p.Pattern = val
			case "enum":
				for _, e := range strings.Fields(val) {
					if n, err := strconv.Atoi(e); err == nil && p.Type == "integer" {
						p.Enum = append(p.Enum, n)
					} else {
						p.Enum = append(p.Enum, e)
					}
				}
			default:
				c.err = fmt.Errorf("%s.%s: unknown schema option %q", t.Name(), f.Name, opt)
			}
		}
		own.Properties = append(own.Properties, keyValue{name, p})
		if required {
			own.Required = append(own.Required, name)
		}
	}
	if s.AllOf == nil {
		s.Properties, s.Required = own.Properties, own.Required
		return s
	}
	own.Type, own.AdditionalProperties = s.Type, s.AdditionalProperties
	return schema{AllOf: append(s.AllOf, own)}
}

// property is the schema of a property of type t; nullable lets a pointer
// be null.
func (c *schemas) property(t reflect.Type, input, nullable bool) schema {
	if t.Kind() == reflect.Pointer {
		s := c.property(t.Elem(), input, false)
		if nullable {
			s.Type = []string{s.Type.(string), "null"}
		}
		return s
	}
	switch t {
	case uuidType:
		return schema{Type: "string", Format: "uuid"}
	case timeType:
		return schema{Type: "string", Format: "date-time"}
	case rawJSONType:
		return schema{Type: "object"}
	}
	switch t.Kind() {
	case reflect.String:
		return schema{Type: "string"}
	case reflect.Bool:
		return schema{Type: "boolean"}
	case reflect.Int, reflect.Int32:
		return schema{Type: "integer"}
	case reflect.Int64:
		return schema{Type: "integer", Format: "int64"}
	case reflect.Slice:
		item := c.property(t.Elem(), input, false)
		return schema{Type: "array", Items: &item}
	case reflect.Struct:
		return c.object(t, input)
	}
	c.err = fmt.Errorf("no JSON Schema for Go type %s", t)
	return schema{}
}
