/**
 * The nouveau SVM driver (Linux {@code drivers/gpu/drm/nouveau/nouveau_svm.c}) on the simulated
 * GPU: legacy {@code hmm_mirror} and consolidated interval-notifier variants. See MIGRATION.md.
 */
@NullMarked
package io.mmulab.driver.nouveau;

import org.jspecify.annotations.NullMarked;
