package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the size of a document after alias expansion: a few
// aliases to aliases (the "billion laughs") would otherwise make the walk
// exponential. A real configuration with ten thousand reservations has
// about a hundred thousand nodes.
const maxNodes = 1 << 20

// decoder walks the YAML node tree and collects problems with positions.
type decoder struct {
	errorList
	readResv func(file string) ([]byte, error) // reads the reservations file; nil: none
	resvErr  error                             // reading it failed
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.add(n.Line, n.Column, format, args...)
}

// readDocument parses data into its single YAML document. Problems are
// added to d; a nil node means there is nothing to decode.
func (d *decoder) readDocument(data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML library turns its own failures into errors; anything
		// else escaping it is a bug there, and must not take bootd down.
		if r := recover(); r != nil {
			d.add(1, 1, "yaml: internal error: %v", r)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		d.add(1, 1, "empty configuration")
		return nil
	}
	if err != nil {
		d.syntaxError(data, err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntaxError(data, err)
		return nil
	default:
		d.add(next.Line, next.Column, "more than one YAML document: a configuration is one document")
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.add(1, 1, "empty configuration")
		return nil
	}
	root = doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		d.add(1, 1, "empty configuration")
		return nil
	}
	if !d.checkAliases(root) {
		return nil
	}
	return root
}

// syntaxError reports a YAML syntax error. The library gives a line for
// most of them ("yaml: line 3: did not find expected key") and no column;
// for those without a line, the line is found by parsing ever longer
// prefixes of the input. The column is that of the first character of
// the line that is not a space.
func (d *decoder) syntaxError(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, tail
			}
		}
	}
	lines := splitLines(data)
	if line == 0 {
		line = firstFailingLine(lines, msg)
	}
	col := 1
	if line >= 1 && line <= len(lines) {
		l := lines[line-1]
		col = len(l) - len(bytes.TrimLeft(l, " ")) + 1
		if col > len(bytes.TrimRight(l, "\r\n\u0085\u2028\u2029")) {
			col = 1
		}
	}
	d.add(line, col, "YAML syntax: %s", msg)
}

// splitLines splits data after each line break as YAML counts them: CR
// LF, CR, LF, and the Unicode NEL, LS and PS.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	start := 0
	for i := 0; i < len(data); i++ {
		n := 0
		switch {
		case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
			n = 2
		case data[i] == '\r' || data[i] == '\n':
			n = 1
		case data[i] == 0xc2 && i+1 < len(data) && data[i+1] == 0x85:
			n = 2
		case data[i] == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9):
			n = 3
		}
		if n > 0 {
			lines = append(lines, data[start:i+n])
			i += n - 1
			start = i + 1
		}
	}
	if start < len(data) {
		lines = append(lines, data[start:])
	}
	return lines
}

// firstFailingLine finds the shortest prefix of lines whose parse fails
// with msg, by bisection; it returns 1 when none does.
func firstFailingLine(lines [][]byte, msg string) int {
	fails := func(n int) bool {
		var node yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:n], nil), &node)
		return err != nil && strings.HasSuffix(err.Error(), msg)
	}
	lo, hi := 1, len(lines)
	if hi == 0 || !fails(hi) {
		return 1
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// checkAliases rejects aliases that refer to a node containing themselves
// and documents that grow too large through aliases.
func (d *decoder) checkAliases(root *yaml.Node) bool {
	const inProgress = -1
	size := map[*yaml.Node]int{}
	var walk func(n *yaml.Node) int
	walk = func(n *yaml.Node) int {
		if s, ok := size[n]; ok {
			if s == inProgress {
				d.errorf(n, "alias refers to a node that contains it")
				return maxNodes + 1
			}
			return s
		}
		size[n] = inProgress
		total := 1
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			if size[n.Alias] == inProgress {
				d.errorf(n, "alias *%s refers to a node that contains it", n.Value)
				return maxNodes + 1
			}
			total += walk(n.Alias)
		}
		for _, c := range n.Content {
			total += walk(c)
			if total > maxNodes {
				break
			}
		}
		size[n] = min(total, maxNodes+1)
		return total
	}
	if walk(root) > maxNodes {
		if len(d.errs) == 0 {
			d.errorf(root, "document has more than %d nodes once aliases are expanded", maxNodes)
		}
		return false
	}
	return true
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// describe names the type of a node for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// mapping walks a mapping node, calling f for each key in known with its
// key and (dereferenced) value node. Unknown and repeated keys are errors.
// It reports false when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, what string, known []string, f func(key string, k, v *yaml.Node)) bool {
	n = deref(n)
	if isNull(n) {
		return true // nothing: an empty mapping
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, not %s", what, describe(n))
		return false
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be plain names, not %s", what, describe(k))
			continue
		}
		if k.Tag == "!!merge" {
			d.errorf(k, "merge keys (<<) are not supported; use an alias (*name) for the whole value")
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			d.errorf(k, "duplicate key %q in %s (first at line %d, column %d)", key, what, first.Line, first.Column)
			continue
		}
		seen[key] = k
		if known != nil && !contains(known, key) {
			msg := fmt.Sprintf("unknown key %q in %s", key, what)
			if s := suggest(key, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorf(k, "%s", msg)
			continue
		}
		f(key, k, v)
	}
	return true
}

// sequence returns the items of a list; a single value stands for a list
// of one when single is set, and nothing (null) for an empty list.
func (d *decoder) sequence(n *yaml.Node, what string, single bool) ([]*yaml.Node, bool) {
	n = deref(n)
	switch {
	case n.Kind == yaml.SequenceNode:
		items := make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			items[i] = deref(c)
		}
		return items, true
	case isNull(n):
		return nil, true
	case single && n.Kind == yaml.ScalarNode:
		return []*yaml.Node{n}, true
	}
	d.errorf(n, "%s must be a list, not %s", what, describe(n))
	return nil, false
}

// str returns a scalar's text. Any scalar but null is accepted: host names
// like 1234 are strings even though YAML reads them as numbers.
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// uint parses an integer scalar in [lo, hi].
func (d *decoder) uint(n *yaml.Node, what string, lo, hi uint64) (uint64, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, "%s must be a number, not %s", what, describe(n))
		return 0, false
	}
	v, err := strconv.ParseUint(n.Value, 0, 64)
	if err != nil || v < lo || v > hi {
		d.errorf(n, "%s: %s is out of range %d to %d", what, n.Value, lo, hi)
		return 0, false
	}
	return v, true
}

// boolean parses true or false.
func (d *decoder) boolean(n *yaml.Node, what string) (bool, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		switch strings.ToLower(n.Value) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	d.errorf(n, "%s must be true or false, not %s", what, describe(n))
	return false, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to s within two edits, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if len(c)-len(s) > 2 || len(s)-len(c) > 2 {
			continue // too far apart to be a typo, and cheap to skip
		}
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
