package moderation

import (
	"unicode"
	"unicode/utf8"
)

// Automaton is an Aho-Corasick automaton over runes: it finds every
// occurrence of any of its words in a text in one pass, in time linear in
// the text (plus the matches), whatever the number of words. Matching is
// by substring — there are no word boundaries, so a Chinese word is found
// inside a sentence written without spaces — and ignores case (each rune
// is folded with unicode.ToLower, which maps one rune to one rune, so
// match positions fall on the original text's runes). An Automaton is
// immutable once built and safe for concurrent use.
type Automaton struct {
	nodes []acNode
	// ascii are the root's transitions for ASCII runes (the common first
	// rune), so that most positions of a text cost one array read.
	ascii [128]int32
	words []string // folded
	runes []int    // each word's length in runes
	max   int      // the longest word, in runes
}

type acNode struct {
	next map[rune]int32
	fail int32
	out  int32 // the word that ends here, -1 if none
	link int32 // the nearest node on the fail chain with out >= 0, -1 if none
}

// Fold is the form words are stored and matched in.
func Fold(s string) string {
	b := make([]rune, 0, len(s))
	for _, r := range s {
		b = append(b, unicode.ToLower(r))
	}
	return string(b)
}

// Build compiles words (folded by Build; empty words are skipped; a word
// given twice keeps its first index).
func Build(words []string) *Automaton {
	a := &Automaton{nodes: []acNode{{out: -1, link: -1}}}
	for i, w := range words {
		w = Fold(w)
		a.words = append(a.words, w)
		a.runes = append(a.runes, utf8.RuneCountInString(w))
		if w == "" {
			continue
		}
		n := int32(0)
		for _, r := range w {
			c, ok := a.nodes[n].next[r]
			if !ok {
				if a.nodes[n].next == nil {
					a.nodes[n].next = map[rune]int32{}
				}
				c = int32(len(a.nodes))
				a.nodes = append(a.nodes, acNode{out: -1, link: -1})
				a.nodes[n].next[r] = c
			}
			n = c
		}
		if a.nodes[n].out < 0 {
			a.nodes[n].out = int32(i)
		}
		a.max = max(a.max, a.runes[i])
	}
	// Breadth first: a node's fail is the longest proper suffix of its
	// path that is also a path from the root.
	queue := make([]int32, 0, len(a.nodes))
	for _, c := range a.nodes[0].next {
		queue = append(queue, c)
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for r, c := range a.nodes[n].next {
			f := a.nodes[n].fail
			for {
				if g, ok := a.nodes[f].next[r]; ok && g != c {
					a.nodes[c].fail = g
					break
				}
				if f == 0 {
					a.nodes[c].fail = 0
					break
				}
				f = a.nodes[f].fail
			}
			if fl := a.nodes[c].fail; a.nodes[fl].out >= 0 {
				a.nodes[c].link = fl
			} else {
				a.nodes[c].link = a.nodes[fl].link
			}
			queue = append(queue, c)
		}
	}
	for r := range a.ascii {
		a.ascii[r] = a.nodes[0].next[rune(r)]
	}
	return a
}

// Len is the number of words.
func (a *Automaton) Len() int { return len(a.words) }

// Word returns word i (folded).
func (a *Automaton) Word(i int) string { return a.words[i] }

// Match is one occurrence of word Word at text[Start:End] (byte offsets in
// the original, unfolded text).
type Match struct {
	Word       int
	Start, End int
}

// Find calls fn for every occurrence of a word in text, ordered by where
// they end (longest first among those ending at the same rune), until fn
// returns false.
func (a *Automaton) Find(text string, fn func(Match) bool) {
	if a == nil || a.max == 0 {
		return
	}
	// offs is a ring of the byte offsets of the last a.max runes, to turn
	// a match's length in runes into its start.
	offs := make([]int, a.max)
	n := int32(0)
	k := 0 // runes seen
	for i, r := range text {
		offs[k%a.max] = i
		k++
		r = unicode.ToLower(r)
		for {
			if n == 0 {
				if r < 128 {
					n = a.ascii[r]
				} else {
					n = a.nodes[0].next[r] // 0 if absent
				}
				break
			}
			if c, ok := a.nodes[n].next[r]; ok {
				n = c
				break
			}
			n = a.nodes[n].fail
		}
		if n == 0 {
			continue
		}
		end := i + runeLen(text[i:])
		for m := n; m >= 0; m = a.nodes[m].link {
			w := a.nodes[m].out
			if w < 0 {
				continue
			}
			start := offs[(k-a.runes[w])%a.max]
			if !fn(Match{Word: int(w), Start: start, End: end}) {
				return
			}
		}
	}
}

// runeLen is the byte length of the first rune of s.
func runeLen(s string) int {
	_, n := utf8.DecodeRuneInString(s)
	return n
}
