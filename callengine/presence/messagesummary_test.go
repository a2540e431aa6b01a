package presence

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMessageSummary(t *testing.T) {
	tests := []struct {
		name string
		body string
		want MessageSummary
		err  error
	}{
		{"rfc 3842 example", "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 4/8 (1/2)\r\n",
			MessageSummary{Waiting: true, Account: "sip:alice@vmail.example.com", Voice: Counts{4, 8, 1, 2}}, nil},
		{"asterisk style", "Messages-Waiting: no\nMessage-Account: sip:*97@pbx\nVoice-Message: 0/3 (0/0)\n",
			MessageSummary{Waiting: false, Account: "sip:*97@pbx", Voice: Counts{0, 3, 0, 0}}, nil},
		{"fax and message headers", "Messages-Waiting: yes\r\nFax-Message: 1/0\r\nVoice-Message: 2/0\r\n\r\nTo: <sip:a@b>\r\nVoice-Message: 9/9\r\n",
			MessageSummary{Waiting: true, Voice: Counts{New: 2}, Other: Counts{New: 1}}, nil},
		{"no waiting line", "Voice-Message: 1/0\r\n", MessageSummary{}, ErrMalformed},
		{"bad waiting", "Messages-Waiting: maybe\r\n", MessageSummary{}, ErrMalformed},
		{"negative", "Messages-Waiting: yes\r\nVoice-Message: -1/0\r\n", MessageSummary{}, ErrMalformed},
		{"huge", "Messages-Waiting: yes\r\nVoice-Message: 99999999999999999999/0\r\n", MessageSummary{}, ErrMalformed},
		{"unclosed urgent", "Messages-Waiting: yes\r\nVoice-Message: 1/0 (1/0\r\n", MessageSummary{}, ErrMalformed},
		{"too large", "Messages-Waiting: yes\r\n" + strings.Repeat("x", MaxBody), MessageSummary{}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMessageSummary([]byte(tt.body))
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseMessageSummary(f *testing.F) {
	f.Add([]byte("Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 4/8 (1/2)\r\n"))
	f.Add([]byte(MessageSummary{Waiting: true, Voice: Counts{New: 3}}.String()))
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, err := ParseMessageSummary(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		for _, c := range []Counts{ms.Voice, ms.Other} {
			if c.New < 0 || c.Old < 0 || c.New > maxCount || c.Old > maxCount {
				t.Fatalf("count out of range %+v", c)
			}
		}
	})
}
