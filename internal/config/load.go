package config

import (
	"encoding"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Setting describes one configuration value.
type Setting struct {
	Key    string // TOML key, e.g. "log.level"
	Env    string // e.g. "PARLEY_LOG_LEVEL"
	Flag   string // e.g. "log-level"
	Doc    string
	Secret bool
	v      reflect.Value
}

// Settings lists every setting of c, in declaration order, bound to c's fields.
func Settings(c *Config) []Setting {
	var out []Setting
	walk(reflect.ValueOf(c).Elem(), "", &out)
	return out
}

func walk(v reflect.Value, prefix string, out *[]Setting) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := prefix + f.Tag.Get("toml")
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration(0)) {
			walk(v.Field(i), key+".", out)
			continue
		}
		*out = append(*out, Setting{
			Key:    key,
			Env:    "PARLEY_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_")),
			Flag:   strings.ReplaceAll(strings.ReplaceAll(key, ".", "-"), "_", "-"),
			Doc:    f.Tag.Get("doc"),
			Secret: f.Tag.Get("secret") == "true",
			v:      v.Field(i),
		})
	}
}

// Set parses s into the setting's field.
func (s Setting) Set(str string) error {
	v := s.v
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(str))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(str)
	case reflect.Bool:
		b, err := strconv.ParseBool(str)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", str)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer, got %q", str)
		}
		v.SetInt(n)
	case reflect.Uint32:
		n, err := strconv.ParseUint(str, 10, 32)
		if err != nil {
			return fmt.Errorf("want a non-negative integer, got %q", str)
		}
		v.SetUint(n)
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

// Value returns the setting's current value as text.
func (s Setting) Value() string {
	if m, ok := s.v.Interface().(encoding.TextMarshaler); ok {
		b, _ := m.MarshalText()
		return string(b)
	}
	return fmt.Sprint(s.v.Interface())
}

// Load builds the configuration from defaults, the config file (--config or
// $PARLEY_CONFIG), the environment (getenv) and the flags in args. It returns
// the remaining positional arguments. The result is validated.
func Load(name string, args []string, getenv func(string) string) (Config, []string, error) {
	c := Default()
	settings := Settings(&c)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", getenv("PARLEY_CONFIG"), "path to a TOML config file")
	type pending struct {
		s   Setting
		val string
	}
	var fromFlags []pending
	for _, s := range settings {
		fs.Func(s.Flag, s.Doc, func(val string) error {
			fromFlags = append(fromFlags, pending{s, val})
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, nil, err
		}
		return c, nil, fmt.Errorf("%w (run 'parley config' for every setting)", err)
	}
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			return c, nil, fmt.Errorf("config file: %w", err)
		}
		md, err := toml.Decode(string(b), &c)
		if err != nil {
			return c, nil, fmt.Errorf("config file %s: %w", *configPath, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return c, nil, fmt.Errorf("config file %s: unknown setting %q", *configPath, und[0].String())
		}
	}
	var errs []error
	for _, s := range settings {
		if val := getenv(s.Env); val != "" {
			if err := s.Set(val); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.Env, err))
			}
		}
	}
	for _, p := range fromFlags {
		if err := p.s.Set(p.val); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", p.s.Flag, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, nil, err
	}
	if err := c.Validate(); err != nil {
		return c, nil, err
	}
	return c, fs.Args(), nil
}

// Sample renders c as a commented TOML file: every setting, its documentation,
// its environment variable and flag. Secret values are left empty.
func Sample(c Config) string {
	var b strings.Builder
	b.WriteString("# Parley configuration. Every setting also has an environment variable and a\n")
	b.WriteString("# flag; precedence: defaults < this file < environment < flags.\n")
	section := ""
	for _, s := range Settings(&c) {
		sec, _, ok := strings.Cut(s.Key, ".")
		if !ok {
			sec = ""
		}
		if sec != section {
			section = sec
			fmt.Fprintf(&b, "\n[%s]\n", sec)
		}
		name := s.Key[strings.LastIndex(s.Key, ".")+1:]
		fmt.Fprintf(&b, "\n# %s\n# env %s, flag --%s\n", s.Doc, s.Env, s.Flag)
		val := s.Value()
		if s.Secret {
			val = ""
		}
		switch s.v.Kind() {
		case reflect.String:
			fmt.Fprintf(&b, "%s = %s\n", name, tomlString(val))
		default:
			if _, ok := s.v.Interface().(Duration); ok {
				fmt.Fprintf(&b, "%s = %s\n", name, tomlString(val))
			} else {
				fmt.Fprintf(&b, "%s = %s\n", name, val)
			}
		}
	}
	return b.String()
}

// tomlString quotes v as a TOML basic string. Go's %q is not TOML: its
// \x and \v escapes do not parse. Bytes that are not UTF-8 (TOML files
// are UTF-8) become U+FFFD.
func tomlString(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(v, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
