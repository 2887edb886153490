package moderation

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/tenant"
)

// naive finds the same matches as Automaton.Find, slowly.
func naive(words []string, text string) []Match {
	var out []Match
	offs := []int{}
	for i := range text {
		offs = append(offs, i)
	}
	offs = append(offs, len(text))
	folded := []rune(Fold(text))
	for end := 1; end <= len(folded); end++ {
		for wi, w := range words {
			fw := []rune(Fold(w))
			if len(fw) == 0 || len(fw) > end || !slices.Equal(folded[end-len(fw):end], fw) {
				continue
			}
			if slices.ContainsFunc(words[:wi], func(x string) bool { return Fold(x) == Fold(w) }) {
				continue // a duplicate keeps its first index
			}
			out = append(out, Match{Word: wi, Start: offs[end-len(fw)], End: offs[end]})
		}
	}
	return out
}

func found(a *Automaton, text string) []Match {
	var out []Match
	a.Find(text, func(m Match) bool { out = append(out, m); return true })
	return out
}

func sortMatches(ms []Match) {
	slices.SortFunc(ms, func(a, b Match) int {
		if a.End != b.End {
			return a.End - b.End
		}
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return a.Word - b.Word
	})
}

func TestAutomaton_Find(t *testing.T) {
	words := []string{"he", "she", "his", "hers", "坏人", "人", "Spam", "ß", "ÉCOLE"}
	tests := []struct {
		text string
		want []string
	}{
		{"ushers", []string{"she", "he", "hers"}},
		{"他是个坏人吗", []string{"坏人", "人"}},
		{"SPAM and spam", []string{"Spam", "Spam"}},
		{"nothing here", []string{"he"}},
		{"", nil},
		{"straße", []string{"ß"}},
		{"une école", []string{"ÉCOLE"}},
	}
	a := Build(words)
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			var got []string
			for _, m := range found(a, tc.text) {
				got = append(got, words[m.Word])
				if !strings.EqualFold(Fold(tc.text[m.Start:m.End]), Fold(words[m.Word])) {
					t.Errorf("match %q at %d:%d is %q", words[m.Word], m.Start, m.End, tc.text[m.Start:m.End])
				}
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

func TestAutomaton_MatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abAB坏人é")
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := range 300 {
		var words []string
		for range 1 + r.IntN(8) {
			words = append(words, word(1+r.IntN(4)))
		}
		text := word(r.IntN(30))
		got, want := found(Build(words), text), naive(words, text)
		sortMatches(got)
		sortMatches(want)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: words %q text %q: got %v, want %v", i, words, text, got, want)
		}
	}
}

func TestMaskRanges(t *testing.T) {
	a := Build([]string{"坏人", "bad"})
	l := &list{ac: a, actions: []string{"replace", "replace"}}
	v := &Verdict{}
	l.check("你是坏人, BAD guy", v)
	if v.Masked != "你是**, *** guy" {
		t.Fatalf("masked %q", v.Masked)
	}
}

// FuzzAutomaton checks the automaton against the naive search on
// arbitrary (untrusted) text, including invalid UTF-8.
func FuzzAutomaton(f *testing.F) {
	f.Add("he,she,坏人", "他是坏人ushers")
	f.Add("a", "\xff\xfea")
	f.Fuzz(func(t *testing.T, ws, text string) {
		if len(ws) > 200 || len(text) > 2000 {
			return
		}
		words := strings.Split(ws, ",")
		a := Build(words)
		got := found(a, text)
		for _, m := range got {
			if m.Start < 0 || m.End > len(text) || m.Start >= m.End {
				t.Fatalf("bad range %+v in %q", m, text)
			}
		}
		if utf8.ValidString(text) && utf8.ValidString(ws) {
			want := naive(words, text)
			sortMatches(got)
			sortMatches(want)
			if !slices.Equal(got, want) {
				t.Fatalf("words %q text %q: got %v, want %v", words, text, got, want)
			}
		}
	})
}

func BenchmarkFilter(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const cjk = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该由"
	runes := []rune(cjk)
	words := make([]string, 10_000)
	for i := range words {
		var w strings.Builder
		for range 2 + r.IntN(3) {
			if r.IntN(2) == 0 {
				w.WriteRune(runes[r.IntN(len(runes))])
			} else {
				w.WriteByte(byte('a' + r.IntN(26)))
			}
		}
		words[i] = w.String()
	}
	texts := map[string]string{
		"ascii_200B": strings.Repeat("The quick brown fox jumps over the lazy dog. ", 5)[:200],
		"cjk_200r":   string(runes[:200]),
	}
	for _, n := range []int{100, 10_000} {
		a := Build(words[:n])
		l := &list{ac: a, actions: make([]string, n)}
		for i := range l.actions {
			l.actions[i] = "replace"
		}
		for name, text := range texts {
			b.Run(fmt.Sprintf("words=%d/%s", n, name), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				for b.Loop() {
					l.check(text, &Verdict{})
				}
			})
		}
	}
	// The baseline a keyword list without an automaton would be: one
	// substring search per word.
	folded := make([]string, len(words))
	for i, w := range words {
		folded[i] = Fold(w)
	}
	for name, text := range texts {
		b.Run("naive_contains/words=10000/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				t := Fold(text)
				n := 0
				for _, w := range folded {
					if strings.Contains(t, w) {
						n++
					}
				}
			}
		})
	}
	// The whole send filter: body decode, match, re-encode of a masked body.
	svc := &Service{now: time.Now, lists: map[int64]*list{}, gen: map[int64]uint64{}}
	l := &list{ac: Build(words), actions: make([]string, len(words)), loaded: time.Now().Add(time.Hour)}
	for i := range l.actions {
		l.actions[i] = "replace"
	}
	svc.lists[1] = l
	app := &tenant.App{ID: 1}
	body, _ := json.Marshal(map[string]string{"msg": texts["cjk_200r"]})
	b.Run("send_filter/words=10000/cjk_200r", func(b *testing.B) {
		for b.Loop() {
			m := &messaging.Outgoing{App: app, Type: "txt", Body: body}
			if err := svc.FilterSend(context.Background(), m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("build/words=10000", func(b *testing.B) {
		for b.Loop() {
			Build(words)
		}
	})
}
