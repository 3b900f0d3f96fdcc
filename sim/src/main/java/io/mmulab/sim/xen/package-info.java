/**
 * The simulated Xen hypervisor: grant tables (a domain grants one of its frames under a grant
 * reference), the map hypercall that writes a granted frame into a PTE slot of a process and
 * remembers the slot, the unmap hypercall (synchronous, or with an asynchronous completion once the
 * pages are no longer in use) and the accesses a process makes through a grant mapping. The
 * coherency checker sees every mapping and unmapping and holds the mapping driver to the shadow-PTE
 * rules.
 */
@NullMarked
package io.mmulab.sim.xen;

import org.jspecify.annotations.NullMarked;
