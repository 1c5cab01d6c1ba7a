package scaling

// ProbeAll probes every node once, now, whatever the probe loops do.
func (r *Router[C]) ProbeAll() {
	for _, n := range r.nodes {
		r.probe(n)
	}
}
