"""The stages of ReMOTS: the only code that reads the config or the run folder.

Each stage reads its inputs from the run folder (``remots.io.run_folder``), calls the algorithm
packages with plain arrays and writes its artifacts; ``remots.pipeline`` holds the one stage
order and the manifest that skips, reruns and resumes them.

=============  ===================  ==========================================================
stage          module               algorithms
=============  ===================  ==========================================================
generate       ``generate``         ``remots.synthetic.generate_dataset``
detect         ``detect``           backends of ``remots.detection``; ``fusion.fuse_detections``
intra, inter   ``train``            ``remots.data`` (crops, samplers, DataModules),
                                    ``remots.models`` (encoder, triplet loss, Lightning module)
embed_short,   ``embed``            ``remots.models.embedding.embed_crops``
embed_merge
short          ``short``            ``tracking.thresholds.theta_short_per_class``,
                                    ``tracking.short_term.track_short`` (Eq. 1-2)
merge          ``merge``            ``tracking.merge.merge_short_tracklets`` (Fig. 5, Eq. 3)
eval           ``evaluate``         ``remots.eval.evaluate`` (TrackEval's metric classes)
report         ``report``           ``remots.viz.overlay``
=============  ===================  ==========================================================

``videos`` loads the configured data; ``wandb_log`` logs the non-training stages to W&B.
"""
