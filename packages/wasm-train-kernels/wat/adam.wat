;; Adam: one optimizer step of one variable.
;; A fragment of one module built by scripts/build-kernels.mjs: conventions
;; (addresses, layouts, who checks shapes) in the package README.

  ;; One Adam step over n floats, in tfjs's operation order (so results match
  ;; its tf.train.adam op by op, every operation an IEEE float32 one):
  ;;   m' = m*b1 + g*(1-b1);  v' = v*b2 + (g*g)*(1-b2)
  ;;   w' = ((m'/c1) / (sqrt(v'/c2) + eps)) * (-lr) + w,  c = 1 - beta^t
  ;; Writes w', m', v' to the outputs; each element is read before its outputs
  ;; are written, at the same index, so mOut and vOut may be m and v.
  (func (export "adam_update")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $wOut i32) (param $mOut i32) (param $vOut i32)
    (param $n i32) (param $negLr f32) (param $b1 f32) (param $oneMinusB1 f32) (param $b2 f32) (param $oneMinusB2 f32)
    (param $eps f32) (param $c1 f32) (param $c2 f32)
    (local $at i32) (local $end i32) (local $vecEnd i32)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $mf f32) (local $vf f32) (local $gf f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $at (i32.const 0))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $at))) (f32x4.splat (local.get $b1)))
                                  (f32x4.mul (local.get $gv) (f32x4.splat (local.get $oneMinusB1)))))
        (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $at))) (f32x4.splat (local.get $b2)))
                                  (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (f32x4.splat (local.get $oneMinusB2)))))
        (v128.store (i32.add (local.get $mOut) (local.get $at)) (local.get $mv))
        (v128.store (i32.add (local.get $vOut) (local.get $at)) (local.get $vv))
        (v128.store (i32.add (local.get $wOut) (local.get $at))
          (f32x4.add
            (f32x4.mul
              (f32x4.div (f32x4.div (local.get $mv) (f32x4.splat (local.get $c1)))
                         (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (f32x4.splat (local.get $c2)))) (f32x4.splat (local.get $eps))))
              (f32x4.splat (local.get $negLr)))
            (v128.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $scalars
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $gf (f32.load (i32.add (local.get $g) (local.get $at))))
        (local.set $mf (f32.add (f32.mul (f32.load (i32.add (local.get $m) (local.get $at))) (local.get $b1))
                                (f32.mul (local.get $gf) (local.get $oneMinusB1))))
        (local.set $vf (f32.add (f32.mul (f32.load (i32.add (local.get $v) (local.get $at))) (local.get $b2))
                                (f32.mul (f32.mul (local.get $gf) (local.get $gf)) (local.get $oneMinusB2))))
        (f32.store (i32.add (local.get $mOut) (local.get $at)) (local.get $mf))
        (f32.store (i32.add (local.get $vOut) (local.get $at)) (local.get $vf))
        (f32.store (i32.add (local.get $wOut) (local.get $at))
          (f32.add
            (f32.mul
              (f32.div (f32.div (local.get $mf) (local.get $c1))
                       (f32.add (f32.sqrt (f32.div (local.get $vf) (local.get $c2))) (local.get $eps)))
              (local.get $negLr))
            (f32.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $scalars))))
