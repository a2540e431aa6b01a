package testpeers

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// PublishMWI plays a voicemail server: it PUBLISHes a message-summary body
// (RFC 3842, through RFC 3903) for user's mailbox to Kamailio's presence
// server, authenticated as from/password, so Kamailio NOTIFYs user's
// message-summary subscriptions (KamailioOptions.Presence).
func (k *Kamailio) PublishMWI(tb testing.TB, from, password, user, body string) {
	tb.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("testpeers-voicemail"))
	if err != nil {
		tb.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	aor := sip.Uri{Scheme: "sip", User: user, Host: k.Domain()}
	req := sip.NewRequest(sip.PUBLISH, aor)
	fromH := sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: k.Domain()}, Params: sip.NewParams()}
	fromH.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(&fromH)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(sip.NewHeader("Event", "message-summary"))
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/simple-message-summary"))
	req.SetBody([]byte(body))
	req.SetDestination(k.UDPAddr())
	res, err := cli.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		res, err = cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: from, Password: password})
	}
	if err != nil {
		tb.Fatalf("testpeers: voicemail PUBLISH: %v\n%s", err, k.Log())
	}
	if !res.IsSuccess() {
		tb.Fatalf("testpeers: voicemail PUBLISH: %d %s\n%s", res.StatusCode, res.Reason, k.Log())
	}
}
