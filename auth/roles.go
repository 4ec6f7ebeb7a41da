package auth

// Permission names one thing a role may do. Every route of the admin API
// names the permission it needs (admin/routes.go); organisation scope
// (which objects) is checked on top of it by the services.
type Permission string

// The permissions. A role holds a fixed set of them (rolePermissions).
const (
	// PermRead: read media, playlists, displays, schedules, plays, previews
	// and the server's counters in one's organisation subtree.
	PermRead Permission = "read"
	// PermSelf: manage one's own session, password and API tokens.
	PermSelf Permission = "self"
	// PermContentWrite: upload and change media and playlists.
	PermContentWrite Permission = "content.write"
	// PermScheduleWrite: create, change, delete and submit schedules.
	// Approvers hold it only for emergency-layer schedules (checked by
	// the schedules service).
	PermScheduleWrite Permission = "schedule.write"
	// PermScheduleApprove: approve or reject submitted schedules.
	PermScheduleApprove Permission = "schedule.approve"
	// PermDisplayManage: create, change, delete displays, rotate their
	// tokens and send them commands.
	PermDisplayManage Permission = "display.manage"
	// PermUserManage: create users, disable them, reset passwords, change
	// roles; manage organisations.
	PermUserManage Permission = "user.manage"
	// PermAuditRead: read the audit log.
	PermAuditRead Permission = "audit.read"
)

// Permissions lists every permission, for tests and documentation.
var Permissions = []Permission{
	PermRead, PermSelf, PermContentWrite, PermScheduleWrite, PermScheduleApprove,
	PermDisplayManage, PermUserManage, PermAuditRead,
}

// Roles lists every role.
var Roles = []string{RoleAdmin, RoleEditor, RoleApprover, RoleViewer}

var rolePermissions = map[string]map[Permission]bool{
	RoleAdmin: set(PermRead, PermSelf, PermContentWrite, PermScheduleWrite, PermScheduleApprove,
		PermDisplayManage, PermUserManage, PermAuditRead),
	RoleEditor:   set(PermRead, PermSelf, PermContentWrite, PermScheduleWrite),
	RoleApprover: set(PermRead, PermSelf, PermScheduleWrite, PermScheduleApprove, PermAuditRead),
	RoleViewer:   set(PermRead, PermSelf, PermAuditRead),
}

func set(ps ...Permission) map[Permission]bool {
	m := make(map[Permission]bool, len(ps))
	for _, p := range ps {
		m[p] = true
	}
	return m
}

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool {
	_, ok := rolePermissions[role]
	return ok
}

// Allows reports whether role holds permission p.
func Allows(role string, p Permission) bool {
	return rolePermissions[role][p]
}

// ScheduleWriteEmergencyOnly reports whether role holds PermScheduleWrite
// for emergency-layer schedules only (approvers: they publish urgent
// messages, not campaigns). The schedules service enforces it.
func ScheduleWriteEmergencyOnly(role string) bool {
	return role == RoleApprover
}

// Can reports whether the user holds permission p; a disabled user holds
// none.
func (u *User) Can(p Permission) bool {
	return u != nil && !u.Disabled && Allows(u.Role, p)
}
