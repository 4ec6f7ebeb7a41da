package admin

// RouteKeys returns "METHOD path" for every line of the route table, in
// table order, for the role × route matrix test (matrix_test.go).
func (s *Server) RouteKeys() []string {
	rs := s.routes()
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.method + " " + r.path
	}
	return keys
}
