package testpeers

import "fmt"

// DirectoryPerson is one generated entry of the test directories.
type DirectoryPerson struct {
	Given, Family string
	// Work is written internationally with spaces ("+33 1 40 00 01 23"),
	// Mobile nationally ("06 10 00 01 23"), as real address books mix them.
	Work, Mobile string
	Mail         string
	Org          string
}

// Name is "Given Family".
func (p DirectoryPerson) Name() string { return p.Given + " " + p.Family }

var (
	givenNames  = []string{"Alice", "Bruno", "Chloé", "David", "Émilie", "Farid", "Gaëlle", "Hugo", "Inès", "Jules", "Karim", "Léa", "Marc", "Nadia", "Olivier", "Paula", "Quentin", "Rose", "Samir", "Théo"}
	familyNames = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia"}
	orgs        = []string{"Sales", "Support", "Accounting", "R&D"}
)

// DirectoryPeople generates n distinct people (n at most 300), the same
// for every call, so StartRadicale and StartSlapd serve the same data and
// tests can name what they expect: person i has work number
// +33 1 40 00 %04d and mobile 06 10 00 %04d (i written in four digits).
func DirectoryPeople(n int) []DirectoryPerson {
	n = min(n, len(givenNames)*len(familyNames))
	out := make([]DirectoryPerson, n)
	for i := range out {
		g, f := givenNames[i%len(givenNames)], familyNames[i/len(givenNames)]
		out[i] = DirectoryPerson{
			Given: g, Family: f,
			Work:   fmt.Sprintf("+33 1 40 00 %02d %02d", i/100, i%100),
			Mobile: fmt.Sprintf("06 10 00 %02d %02d", i/100, i%100),
			Mail:   fmt.Sprintf("p%04d@parlo.test", i),
			Org:    orgs[i%len(orgs)],
		}
	}
	return out
}
