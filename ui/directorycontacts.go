package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/internal/directory"
)

// contactsWindow lists the local contacts to edit and delete.
type contactsWindow struct {
	p        *directoryPanel
	win      fyne.Window
	list     *widget.List
	contacts []directory.Contact
	sel      int
	edit     *widget.Button
	del      *widget.Button
}

// openContacts shows the local contacts window (one at a time).
func (p *directoryPanel) openContacts() {
	if p.dir == nil {
		p.w.action.fail(ErrNoContacts)
		return
	}
	if p.contacts != nil {
		p.contacts.reload()
		p.contacts.win.Show()
		return
	}
	c := &contactsWindow{p: p, sel: -1}
	c.win = p.w.app.NewWindow("Parlo — Contacts")
	c.win.SetIcon(Icon())
	c.list = widget.NewList(
		func() int { return len(c.contacts) },
		func() fyne.CanvasObject { l := widget.NewLabel(""); l.Truncation = fyne.TextTruncateEllipsis; return l },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(contactLine(c.contacts[i])) },
	)
	c.list.OnSelected = func(i widget.ListItemID) { c.sel = i; c.edit.Enable(); c.del.Enable() }
	c.edit = widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { c.editSelected() })
	c.del = widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), func() { c.deleteSelected() })
	add := widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), func() { c.editContact(directory.Contact{}) })
	c.win.SetContent(container.NewBorder(nil, container.NewHBox(add, c.edit, c.del), nil, nil, c.list))
	c.win.Resize(fyne.NewSize(520, 420))
	c.win.SetOnClosed(func() { p.contacts = nil })
	p.contacts = c
	c.reload()
	c.win.Show()
}

// contactLine is one row: the name and every number.
func contactLine(c directory.Contact) string {
	var nums []string
	for _, ph := range c.Phones {
		nums = append(nums, ph.Number)
	}
	return c.Name + " · " + strings.Join(nums, ", ")
}

func (c *contactsWindow) reload() {
	c.contacts = c.p.dir.Local().List()
	c.sel = -1
	c.list.UnselectAll()
	c.edit.Disable()
	c.del.Disable()
	c.list.Refresh()
}

func (c *contactsWindow) editSelected() {
	if c.sel >= 0 && c.sel < len(c.contacts) {
		c.editContact(c.contacts[c.sel])
	}
}

// editContact edits ct (a new contact when its ID is empty): its name and
// its numbers, comma-separated.
func (c *contactsWindow) editContact(ct directory.Contact) {
	name := widget.NewEntry()
	name.SetText(ct.Name)
	numbers := widget.NewEntry()
	numbers.SetPlaceHolder("0123456789, sip:bob@example.com")
	var nums []string
	for _, ph := range ct.Phones {
		nums = append(nums, ph.Number)
	}
	numbers.SetText(strings.Join(nums, ", "))
	title := "Edit contact"
	if ct.ID == "" {
		title = "Add contact"
	}
	dialog.ShowForm(title, "Save", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Name", name), widget.NewFormItem("Numbers", numbers),
	}, func(ok bool) {
		if !ok {
			return
		}
		if err := c.save(ct, name.Text, numbers.Text); err != nil {
			dialog.ShowError(err, c.win)
		}
	}, c.win)
}

// save stores an edited or new contact; numbers keep their labels when
// they are unchanged.
func (c *contactsWindow) save(ct directory.Contact, name, numbers string) error {
	ct.Name = strings.TrimSpace(name)
	old := ct.Phones
	ct.Phones = nil
	for _, n := range strings.Split(numbers, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		ph := directory.Phone{Number: n}
		for _, o := range old {
			if o.Number == n {
				ph.Label = o.Label
			}
		}
		ct.Phones = append(ct.Phones, ph)
	}
	var err error
	if ct.ID == "" {
		_, err = c.p.dir.Local().Add(ct)
	} else {
		err = c.p.dir.Local().Update(ct)
	}
	if err != nil {
		return fmt.Errorf("contact not saved: %w", err)
	}
	c.reload()
	return nil
}

func (c *contactsWindow) deleteSelected() {
	if c.sel < 0 || c.sel >= len(c.contacts) {
		return
	}
	ct := c.contacts[c.sel]
	dialog.ShowConfirm("Delete contact", "Delete "+ct.Name+"?", func(ok bool) {
		if !ok {
			return
		}
		if err := c.p.dir.Local().Delete(ct.ID); err != nil {
			dialog.ShowError(err, c.win)
			return
		}
		c.reload()
	}, c.win)
}
