package presence

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// Status is a person's availability as a PIDF document tells it.
type Status string

// The statuses Parlo publishes and shows.
const (
	// StatusUnknown: nothing received yet.
	StatusUnknown Status = "unknown"
	// StatusAvailable: basic "open" with no activity (RFC 3863 §4.1.4).
	StatusAvailable Status = "available"
	// StatusOnThePhone: open, with the RPID activity on-the-phone
	// (RFC 4480 §3.2): in a call.
	StatusOnThePhone Status = "on-the-phone"
	// StatusBusy: open, with the activity busy.
	StatusBusy Status = "busy"
	// StatusAway: open, with the activity away.
	StatusAway Status = "away"
	// StatusDND: closed (calls are refused) with the activity busy: do not
	// disturb.
	StatusDND Status = "dnd"
	// StatusOffline: closed, or no tuple at all.
	StatusOffline Status = "offline"
)

// Presence is one PIDF document, reduced to what a contact list shows.
type Presence struct {
	// Entity is the presentity's address (the document's entity attribute).
	Entity string
	Status Status
	// Note is the first <note> of the document, person or tuple.
	Note string
}

type xmlPIDF struct {
	XMLName xml.Name   `xml:"presence"`
	Entity  string     `xml:"entity,attr"`
	Tuples  []xmlTuple `xml:"tuple"`
	Persons []struct {
		Activities struct {
			Items []struct {
				XMLName xml.Name
			} `xml:",any"`
		} `xml:"activities"`
		Notes []string `xml:"note"`
	} `xml:"person"`
	Notes []string `xml:"note"`
}

type xmlTuple struct {
	Basic string   `xml:"status>basic"`
	Notes []string `xml:"note"`
}

// ParsePIDF reads an application/pidf+xml body (RFC 3863). The element
// names are matched whatever their namespace prefix: servers write the
// RPID and data-model elements with differing prefixes.
func ParsePIDF(body []byte) (Presence, error) {
	var pr Presence
	var x xmlPIDF
	if err := decode(body, &x); err != nil {
		return pr, err
	}
	if len(x.Tuples) > maxItems || len(x.Persons) > maxItems {
		return pr, fmt.Errorf("%w: too many tuples or persons", ErrMalformed)
	}
	pr.Entity = clean(x.Entity)
	open, closed := false, false
	for _, t := range x.Tuples {
		switch strings.ToLower(strings.TrimSpace(t.Basic)) {
		case "open":
			open = true
		case "closed":
			closed = true
		}
		if pr.Note == "" && len(t.Notes) > 0 {
			pr.Note = clean(t.Notes[0])
		}
	}
	activities := map[string]bool{}
	for _, p := range x.Persons {
		for _, a := range p.Activities.Items {
			activities[strings.ToLower(a.XMLName.Local)] = true
		}
		if pr.Note == "" && len(p.Notes) > 0 {
			pr.Note = clean(p.Notes[0])
		}
	}
	if pr.Note == "" && len(x.Notes) > 0 {
		pr.Note = clean(x.Notes[0])
	}
	switch {
	case open && activities["on-the-phone"]:
		pr.Status = StatusOnThePhone
	case open && activities["busy"]:
		pr.Status = StatusBusy
	case open && activities["away"]:
		pr.Status = StatusAway
	case open:
		pr.Status = StatusAvailable
	case closed && activities["busy"]:
		pr.Status = StatusDND
	default:
		pr.Status = StatusOffline
	}
	return pr, nil
}

// BuildPIDF writes our own presence document for PUBLISH (RFC 3903): one
// tuple with the basic status, and a person with the RPID activity that
// says why (RFC 4480 §3.2; data model RFC 4479). entity is our AOR.
func BuildPIDF(entity string, st Status, note string) []byte {
	basic, activity := "open", ""
	switch st {
	case StatusOnThePhone:
		activity = "on-the-phone"
	case StatusBusy:
		activity = "busy"
	case StatusAway:
		activity = "away"
	case StatusDND:
		basic, activity = "closed", "busy"
	case StatusOffline:
		basic = "closed"
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="`)
	xmlEscape(&b, entity)
	b.WriteString("\">\n <tuple id=\"parlo\">\n  <status><basic>" + basic + "</basic></status>\n")
	if note != "" {
		b.WriteString("  <note>")
		xmlEscape(&b, note)
		b.WriteString("</note>\n")
	}
	b.WriteString(" </tuple>\n")
	if activity != "" {
		b.WriteString(" <dm:person id=\"p1\">\n  <rpid:activities><rpid:" + activity + "/></rpid:activities>\n")
		if note != "" {
			b.WriteString("  <dm:note>")
			xmlEscape(&b, note)
			b.WriteString("</dm:note>\n")
		}
		b.WriteString(" </dm:person>\n")
	}
	b.WriteString("</presence>\n")
	return []byte(b.String())
}

func xmlEscape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(clean(s)))
}
